import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * tsx's loader, for `node --import` when the project starts one of its own
 * TypeScript entry points (a task, the Go cache program) in a node of its
 * own: tsx's command would start a second node. Resolved through require
 * rather than import.meta.resolve, which vitest's module runner lacks.
 */
export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
