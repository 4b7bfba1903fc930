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
  // Side by side, and only one of them reads the work tree: the watch resolves the checkout on every edit.
  const [top, status, logged, described] = await Promise.all([
    git(['rev-parse', '--show-toplevel']),
    git(['status', '--porcelain=v2', '--branch', '-z', '--untracked-files=all']),
    git(['log', '-1', '--format=%ct']),
    git(['describe', '--tags', '--always']),
  ]);
  if (top.exitCode !== 0 || status.exitCode !== 0) return resolvePlainDirectory(dir);
  const tree = parseStatus(status.stdout);
  if (!tree.commit) {
    throw new UserError(
      `source directory ${dir} is a git repository without a commit`,
      'Commit once (the version stamps name a commit), or point the variable elsewhere.',
    );
  }
  const changed = tree.changes.some((change) => change.tracked);
  const dirty = tree.changes.length > 0;
  let identity = `git ${tree.commit}`;
  if (dirty) {
    // Each change as status says it (for a tracked file: its modes and its blobs at HEAD and in the index) and the file as it is now.
    const digest = createHash('sha256');
    for (const change of [...tree.changes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
      digest.update(`\0${change.entry}\0`);
      digest.update(await readFile(join(top.stdout.trim(), change.path)).catch(() => Buffer.from('\0absent')));
    }
    identity += ` dirty ${digest.digest('hex')}`;
  }
  // As `git describe --dirty` says it: only changes to tracked files count.
  const version = described.stdout.trim() ? `${described.stdout.trim()}${changed ? '-dirty' : ''}` : tree.commit.slice(0, 12);
  const commitTime = new Date(Number(logged.stdout.trim()) * 1000);
  return { kind: 'path', dir, identity, version, commit: tree.commit, dirty, commitTime };
}

export interface StatusChange {
  /** The whole status entry (for a rename, with its original path). */
  entry: string;
  /** From the repository's top. */
  path: string;
  /** False for an untracked file. */
  tracked: boolean;
}

/** Leading fields before the path of each kind of `git status --porcelain=v2` entry: changed, renamed or copied, unmerged. */
const FIELDS_BEFORE_PATH: Record<string, number> = { '1': 8, '2': 9, u: 10 };

/** What `git status --porcelain=v2 --branch -z` says: HEAD's commit and every change, untracked files included. */
export function parseStatus(output: string): { commit?: string; changes: StatusChange[] } {
  const fields = output.split('\0');
  let commit: string | undefined;
  const changes: StatusChange[] = [];
  for (let i = 0; i < fields.length; i += 1) {
    const field = fields[i] ?? '';
    const kind = field.slice(0, 2);
    if (field.startsWith('# branch.oid ')) {
      const oid = field.slice('# branch.oid '.length);
      if (oid !== '(initial)') commit = oid;
    } else if (kind === '? ') {
      changes.push({ entry: field, path: field.slice(2), tracked: false });
    } else if (kind.endsWith(' ') && kind[0] !== undefined && kind[0] in FIELDS_BEFORE_PATH) {
      const before = FIELDS_BEFORE_PATH[kind[0]] ?? 0;
      const path = field.split(' ').slice(before).join(' ');
      // A rename's original path is the next field.
      const entry = kind === '2 ' ? `${field}\0${fields[(i += 1)] ?? ''}` : field;
      changes.push({ entry, path, tracked: true });
    }
  }
  return { ...(commit ? { commit } : {}), changes };
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
