import type { Env } from '../core/env.js';
import type { GoTool } from '../core/go-tools.js';
import type { Finding } from './model.js';
import type { Base, ValidateTree } from './tree.js';

/** What every check gets: the tree, its base, the tools, and the ways to report as it goes. */
export interface CheckContext {
  tree: ValidateTree;
  /** Undefined for a tree without history: it is the pinned release itself. */
  base: Base | undefined;
  env: Env;
  /** The upstream tool at its pin, built once into the tools cache (go install from the module proxy); resolves to its binary. */
  installTool: (tool: GoTool) => Promise<string>;
  cacheDir: string;
  /** bundles/validate: logs the tools write. */
  resultsDir: string;
  fix: boolean;
  signal: AbortSignal;
  progress: (text: string) => void;
  /** --fix says which files it will touch before it touches them. */
  planFix: (files: readonly string[]) => void;
}

export interface CheckOutcome {
  findings: Finding[];
  notes: string[];
}

export type Check = (context: CheckContext) => Promise<CheckOutcome>;

/** Go as the checks run it: never a downloaded toolchain, and no GOFLAGS of the caller's (a -mod=vendor would break a tree without vendor/). */
export function goEnv(env: Env): Env {
  return { ...env, GOTOOLCHAIN: 'local', GOFLAGS: '' };
}

export const NO_HISTORY = 'the tree has no git history: it is the pinned release itself, so there is no change to compare';
