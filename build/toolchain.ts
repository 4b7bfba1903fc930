import type { ComponentSpec } from './model.js';
import { unreachable } from '../core/errors.js';
import { detectGo } from '../core/go-toolchain.js';
import { run } from '../core/process.js';
import type { Env } from '../core/env.js';

/** A tool's version line (e.g. `cc --version`), part of the cache key of what it builds. */
export async function firstLineOf(argv: string[], env: Env): Promise<string> {
  const result = await run(argv, { env });
  return result.exitCode === 0 ? (result.stdout.split('\n')[0] ?? '').trim() : 'none';
}

export type Tool = 'go' | 'cc' | 'cmake';

/** The tools whose versions decide a component's output, so they belong in its cache key. */
export function toolsUsedBy(spec: ComponentSpec): Tool[] {
  const recipe = spec.recipe;
  switch (recipe.kind) {
    case 'cmake':
      return ['cc', 'cmake'];
    case 'go':
      return recipe.cgo ? ['go', 'cc'] : ['go'];
    default:
      return unreachable(recipe);
  }
}

export interface Toolchain {
  /** `go env GOVERSION`, for the go.mod checks. */
  go?: { raw: string; version: string };
  /** Each tool's version line, as recorded in the manifest. */
  versions: Partial<Record<Tool, string>>;
}

/** Detects each tool once, however many components use it. */
export async function detectToolchain(tools: readonly Tool[], env: Env): Promise<Toolchain> {
  const needed = new Set(tools);
  const toolchain: Toolchain = { versions: {} };
  if (needed.has('go')) {
    toolchain.go = await detectGo(env);
    toolchain.versions.go = toolchain.go.raw;
  }
  if (needed.has('cc')) toolchain.versions.cc = await firstLineOf(['cc', '--version'], env);
  if (needed.has('cmake')) toolchain.versions.cmake = await firstLineOf(['cmake', '--version'], env);
  return toolchain;
}
