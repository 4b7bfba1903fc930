import { toStderr, type LineFormats } from '../../core/events.js';
import type { SmokeEvent, SmokeResult } from '../../cross/smoke.js';
import { installingLine } from './make-lines.js';

/** What `npm run make -- --platform …` says around each platform's build. */
export type CrossEvent =
  | SmokeEvent
  | { type: 'platform-started'; platform: string; bundlesDir: string }
  /** No cross compiler for it here, installed or in apt: it is not built; the others are. */
  | { type: 'platform-unavailable'; platform: string; aptPackage: string }
  | { type: 'platform-failed'; platform: string; error: string; hint?: string }
  | { type: 'installing'; packages: readonly string[] }
  | ({ type: 'smoke-finished'; platform: string } & SmokeResult)
  | { type: 'cross-finished'; built: string[]; failed: string[] };

export const crossLines: LineFormats<CrossEvent> = {
  'platform-started': (event) => `== ${event.platform} → ${event.bundlesDir}`,
  'platform-unavailable': (event) =>
    toStderr([
      `error: ${event.platform}: no cross compiler here: ${event.aptPackage} is neither installed nor in any apt source this machine has; the other platforms still build`,
    ]),
  'platform-failed': (event) => toStderr([`error: ${event.platform}: ${event.error}`, ...(event.hint ? [event.hint] : [])]),
  installing: installingLine,
  'smoke-checked': (event) => `${event.platform} ${event.file}: ${event.elf}${event.version ? `; ${event.version.split('\n')[0]}` : ''}`,
  'smoke-failed': (event) => toStderr([`error: ${event.platform} ${event.file} ${event.reason}`]),
  'smoke-finished': (event) =>
    event.failed === 0
      ? `${event.platform}: smoke test passed (${event.checked} files checked${event.ran ? ", versions as this machine's bundle prints them" : ': headers only, nothing here runs them'})`
      : toStderr([`error: ${event.platform}: smoke test failed for ${event.failed} of ${event.checked} files`]),
  'cross-finished': (event) =>
    event.failed.length === 0
      ? `built for ${event.built.join(', ')}`
      : toStderr([`error: not built for ${event.failed.join(', ')}; built for ${event.built.join(', ') || 'none'}`]),
};
