import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { PathSourceSpec, ResolvedSource } from '../model.js';
import { run } from '../../core/process.js';
import type { ResolveContext } from './resolver.js';

/**
 * A contributor's checkout. Its identity is the commit plus a digest of every
 * uncommitted change, so editing a file invalidates the cache and nothing else does.
 */
export async function resolvePath(spec: PathSourceSpec, context: ResolveContext): Promise<ResolvedSource> {
  const dir = resolve(spec.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(`source directory ${dir} does not exist`, 'Point the variable at a checkout, or unset it to use the pinned source.');
  }
  const git = (args: string[]) => run(['git', '-C', dir, ...args], { signal: context.signal, env: context.env });
  // Side by side, and as few as give everything: the watch resolves the tree on every edit, and each git refreshes the index.
  const [top, status, logged, described, diff] = await Promise.all([
    git(['rev-parse', '--show-toplevel']),
    git(['status', '--porcelain=v2', '--branch', '-z', '--untracked-files=all']),
    git(['log', '-1', '--format=%ct']),
    git(['describe', '--tags', '--always']),
    git(['diff', 'HEAD', '--binary']),
  ]);
  if (top.exitCode !== 0 || status.exitCode !== 0) return resolvePlainDirectory(dir);
  const tree = parseStatus(status.stdout);
  if (!tree.commit) {
    throw new UserError(
      `source directory ${dir} is a git repository without a commit`,
      'Commit once (the version stamps name a commit), or point the variable elsewhere.',
    );
  }
  const dirty = tree.changed || tree.untracked.length > 0;
  let identity = `git ${tree.commit}`;
  if (dirty) {
    const digest = createHash('sha256');
    digest.update(diff.stdout);
    // The whole repository's state, as the diff is: status names untracked files from its top.
    for (const file of [...tree.untracked].sort()) {
      digest.update(`\0${file}\0`);
      digest.update(await readFile(join(top.stdout.trim(), file)).catch(() => Buffer.alloc(0)));
    }
    identity += ` dirty ${digest.digest('hex')}`;
  }
  // As `git describe --dirty` says it: only changes to tracked files count.
  const version = described.stdout.trim() ? `${described.stdout.trim()}${tree.changed ? '-dirty' : ''}` : tree.commit.slice(0, 12);
  const commitTime = new Date(Number(logged.stdout.trim()) * 1000);
  return { kind: 'path', dir, identity, version, commit: tree.commit, dirty, commitTime };
}

/** What `git status --porcelain=v2 --branch -z` says: HEAD's commit, whether a tracked file changed, and the untracked files. */
export function parseStatus(output: string): { commit?: string; changed: boolean; untracked: string[] } {
  const fields = output.split('\0');
  let commit: string | undefined;
  let changed = false;
  const untracked: string[] = [];
  for (let i = 0; i < fields.length; i += 1) {
    const field = fields[i] ?? '';
    if (field.startsWith('# branch.oid ')) {
      const oid = field.slice('# branch.oid '.length);
      if (oid !== '(initial)') commit = oid;
    } else if (field.startsWith('? ')) {
      untracked.push(field.slice(2));
    } else if (field.startsWith('1 ') || field.startsWith('u ')) {
      changed = true;
    } else if (field.startsWith('2 ')) {
      changed = true;
      i += 1; // a rename's original path is the next field
    }
  }
  return { ...(commit ? { commit } : {}), changed, untracked };
}

/** A directory outside git: hash every file so that the cache still keys on content. */
async function resolvePlainDirectory(dir: string): Promise<ResolvedSource> {
  const { readdir } = await import('node:fs/promises');
  const entries = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  const digest = createHash('sha256');
  for (const file of entries) {
    digest.update(`\0${file.slice(dir.length)}\0`);
    digest.update(await readFile(file));
  }
  return { kind: 'path', dir, identity: `tree ${digest.digest('hex')}`, version: 'dev', dirty: false };
}
