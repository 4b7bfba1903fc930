import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonSource } from '../core/daemon-source.js';
import type { Env } from '../core/env.js';
import { UsageError, UserError } from '../core/errors.js';
import { run } from '../core/process.js';

/** The tree validate reads: the bundle's dockerd source, and whether it has git history to compare with. */
export interface ValidateTree {
  dir: string;
  kind: DaemonSource['kind'];
  version: string;
  /** A git work tree (a checkout); the module cache's tree has no history. */
  git: boolean;
  /** Only a contributor's DAEMON_SRC checkout may be written to, and only by --fix. */
  writable: boolean;
}

export function validateTree(source: DaemonSource): ValidateTree {
  return {
    dir: source.dir,
    kind: source.kind,
    version: source.version,
    git: existsSync(join(source.dir, '.git')),
    writable: source.kind === 'path',
  };
}

/** The commit the diff-based checks compare with, and how it was chosen. */
export interface Base {
  commit: string;
  /** What the user (or the default) named, e.g. upstream/master. */
  ref: string;
  how: '--base' | 'VALIDATE_UPSTREAM' | 'VALIDATE_ORIGIN_BRANCH' | 'the pinned release';
  /** `git merge-base base HEAD`: the left side of hack/validate/.validate's `base...HEAD` diff. */
  mergeBase: string;
}

export function git(tree: ValidateTree, args: readonly string[], env: Env) {
  return run(['git', '-C', tree.dir, '-c', 'core.quotePath=false', ...args], { env });
}

async function commitOf(tree: ValidateTree, ref: string, env: Env): Promise<string | undefined> {
  const result = await git(tree, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], env);
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

const NO_FETCH = 'Nothing is fetched from GitHub: the base must already be in the checkout.';

/**
 * The base, as hack/validate/.validate reads it (VALIDATE_UPSTREAM, then
 * VALIDATE_ORIGIN_BRANCH) with --base before both; without any, the pinned
 * release commit when the checkout descends from it, where upstream would
 * fetch moby's master instead. Undefined for a tree without history (the
 * module cache's release tree): it is the base itself.
 */
/** The release the bundle's moby pin names: the default base, when the checkout descends from it. */
export interface PinnedRelease {
  version: string;
  commit?: string;
}

export async function resolveBase(tree: ValidateTree, asked: string | undefined, pinned: PinnedRelease, env: Env): Promise<Base | undefined> {
  const named: { ref: string; how: Base['how'] } | undefined = asked
    ? { ref: asked, how: '--base' }
    : env.VALIDATE_UPSTREAM
      ? { ref: env.VALIDATE_UPSTREAM, how: 'VALIDATE_UPSTREAM' }
      : env.VALIDATE_ORIGIN_BRANCH
        ? { ref: env.VALIDATE_ORIGIN_BRANCH, how: 'VALIDATE_ORIGIN_BRANCH' }
        : undefined;
  if (!tree.git) {
    if (named)
      throw new UsageError(
        `${named.how}=${named.ref} needs a git checkout, and ${tree.dir} has no history`,
        'Set DAEMON_SRC to a moby checkout, or leave the base out.',
      );
    return undefined;
  }
  const head = await commitOf(tree, 'HEAD', env);
  if (!head)
    throw new UserError(`${tree.dir} has no commit to validate (git rev-parse HEAD failed)`, 'Commit your change first, or validate the pinned release.');
  if (named) {
    const commit = await commitOf(tree, named.ref, env);
    if (!commit)
      throw new UserError(
        `${named.how} ${named.ref}: no such commit in ${tree.dir}`,
        `Name a commit or branch the checkout has (git log, git branch -a). ${NO_FETCH}`,
      );
    return { ...named, commit, mergeBase: await mergeBase(tree, commit, env) };
  }
  const release = pinned.commit ?? '';
  const descends = release !== '' && (await git(tree, ['merge-base', '--is-ancestor', release, 'HEAD'], env)).exitCode === 0;
  if (!descends) {
    throw new UserError(
      `cannot tell which commit ${tree.dir} starts from: the pinned release ${pinned.version} (${release.slice(0, 12)}) is not in its history`,
      `Set VALIDATE_UPSTREAM (or pass --base REF) to the commit your change starts from. ${NO_FETCH}`,
    );
  }
  return { ref: pinned.version, how: 'the pinned release', commit: release, mergeBase: release };
}

async function mergeBase(tree: ValidateTree, commit: string, env: Env): Promise<string> {
  const result = await git(tree, ['merge-base', commit, 'HEAD'], env);
  if (result.exitCode !== 0)
    throw new UserError(`${commit.slice(0, 12)} and HEAD have no common history in ${tree.dir}`, 'Name a base your branch was made from.');
  return result.stdout.trim();
}
