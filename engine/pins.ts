import type { GitSourceSpec, ModuleSourceSpec, SourceSpec } from './model.js';

/**
 * A Go component's usual candidates: the module through the module proxy,
 * then its upstream repository at the same tag. The commit is only known for
 * versions we pinned; an overridden version needs `<NAME>_COMMIT` for git.
 */
export interface GoPin {
  module: string;
  repository: string;
  version: string;
  /** Known upstream commits by tag. */
  commits: Record<string, string>;
  /** Known module sums (h1:…) by tag, as go.sum records them. */
  sums: Record<string, string>;
  /** Explicit commit for the chosen version (from the environment). */
  commit?: string;
  /** A local checkout that replaces every pinned candidate. */
  localPath?: string;
}

export function goSources(pin: GoPin): SourceSpec[] {
  if (pin.localPath) return [{ kind: 'path', dir: pin.localPath }];
  const commit = pin.commit ?? pin.commits[pin.version];
  const sum = pin.sums[pin.version];
  const module: ModuleSourceSpec = { kind: 'module', module: pin.module, version: pin.version, ...(commit ? { commit } : {}), ...(sum ? { sum } : {}) };
  const candidates: SourceSpec[] = [module];
  if (commit) {
    const git: GitSourceSpec = { kind: 'git', url: pin.repository, ref: pin.version, commit };
    candidates.push(git);
  }
  return candidates;
}

/** `git describe --long` for a release tag: what runc's Makefile stamps. */
export function describeTag(tag: string, commit: string | undefined): string {
  return commit ? `${tag}-0-g${commit.slice(0, 9)}` : tag;
}
