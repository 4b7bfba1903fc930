import type { ComponentSpec } from './model.js';
import { unreachable } from '../core/errors.js';
import { detectGo } from '../core/go-toolchain.js';
import { askTool } from '../core/tool-answers.js';
import type { Env } from '../core/env.js';
import { cTarget, crossCompiler, type Platform } from '../core/platform.js';
import type { Requirement } from '../core/requirements.js';

/** A tool's version line (e.g. `cc --version`), part of the cache key of what it builds. */
export async function firstLineOf(argv: string[], env: Env): Promise<string> {
  const result = await askTool(argv, env);
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

/** What a build for another machine needs besides the component's own needs: for C, Debian's cross compiler and the target's libc. */
export function crossRequirements(spec: ComponentSpec, cross: Platform): Requirement[] {
  if (!toolsUsedBy(spec).includes('cc')) return [];
  const target = cTarget(cross, `${spec.name}'s C code`);
  const compiler = crossCompiler(target);
  return [
    // Worded without the component, so the packages several components need are named once.
    { kind: 'command', ...compiler, why: `C code for ${cross.name}` },
    {
      kind: 'file',
      anyOf: [`/usr/${target.triplet}/lib/libc.a`],
      aptPackage: `libc6-dev-${target.debianArch}-cross`,
      why: `static linking for ${cross.name}`,
    },
  ];
}

/** Detects each tool once, however many components use it; `cc` is the cross compiler when there is a `cross` target. */
export async function detectToolchain(tools: readonly Tool[], env: Env, cross?: Platform): Promise<Toolchain> {
  const needed = new Set(tools);
  // Side by side: the watch asks on every round.
  const [go, cc, cmake] = await Promise.all([
    needed.has('go') ? detectGo(env) : undefined,
    needed.has('cc') ? firstLineOf([cross ? crossCompiler(cTarget(cross, 'C code')).command : 'cc', '--version'], env) : undefined,
    needed.has('cmake') ? firstLineOf(['cmake', '--version'], env) : undefined,
  ]);
  const toolchain: Toolchain = { versions: {} };
  if (go) {
    toolchain.go = go;
    toolchain.versions.go = go.raw;
  }
  if (cc !== undefined) toolchain.versions.cc = cc;
  if (cmake !== undefined) toolchain.versions.cmake = cmake;
  return toolchain;
}
