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
  const top = await git(['rev-parse', '--show-toplevel']);
  if (top.exitCode !== 0) return resolvePlainDirectory(dir);

  // Side by side: each is a process of its own, and the watch resolves the tree on every edit.
  const [head, status, logged, describe, diff, others] = await Promise.all([
    git(['rev-parse', 'HEAD']),
    git(['status', '--porcelain', '--untracked-files=normal']),
    git(['log', '-1', '--format=%ct']),
    git(['describe', '--tags', '--always', '--dirty']),
    git(['diff', 'HEAD', '--binary']),
    git(['ls-files', '--others', '--exclude-standard', '-z']),
  ]);
  const commit = head.stdout.trim();
  const dirty = status.stdout.trim() !== '';
  const commitTime = new Date(Number(logged.stdout.trim()) * 1000);
  const described = describe.stdout.trim();
  let identity = `git ${commit}`;
  if (dirty) {
    const digest = createHash('sha256');
    digest.update(diff.stdout);
    const untracked = others.stdout.split('\0').filter(Boolean);
    for (const file of untracked.sort()) {
      digest.update(`\0${file}\0`);
      digest.update(await readFile(join(dir, file)).catch(() => Buffer.alloc(0)));
    }
    identity += ` dirty ${digest.digest('hex')}`;
  }
  return { kind: 'path', dir, identity, version: described || commit.slice(0, 12), commit, dirty, commitTime };
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
