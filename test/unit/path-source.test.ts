import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseStatus, resolvePath } from '../../builder/sources/path.js';
import { tempDir } from '../support/temp.js';

const context = (dir: string) => ({ cacheDir: dir, workDir: dir, log: new PassThrough(), signal: new AbortController().signal, env: process.env });

function repository(): { dir: string; git: (...args: string[]) => string } {
  const dir = tempDir('path-source');
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { encoding: 'utf8' });
  git('init', '-q');
  mkdirSync(join(dir, 'daemon'));
  writeFileSync(join(dir, 'daemon', 'info.go'), 'package daemon\n');
  writeFileSync(join(dir, 'README'), 'moby\n');
  git('add', '-A');
  git('commit', '-qm', 'first');
  git('tag', 'v1.0.0');
  return { dir, git };
}

describe('a path source', () => {
  it('is its commit when clean, and says the tag as git describe does', async () => {
    const { dir, git } = repository();
    const resolved = await resolvePath({ kind: 'path', dir }, context(dir));
    expect(resolved).toMatchObject({ identity: `git ${git('rev-parse', 'HEAD').trim()}`, version: 'v1.0.0', dirty: false });
  });

  it('keys on every uncommitted change: a tracked edit (-dirty, as git describe --dirty), an untracked file and its content, a rename', async () => {
    const { dir, git } = repository();
    const resolve = () => resolvePath({ kind: 'path', dir }, context(dir));
    const identities = new Set<string>();
    const clean = await resolve();
    identities.add(clean.identity);

    writeFileSync(join(dir, 'notes.txt'), 'one\n');
    const untracked = await resolve();
    expect(untracked).toMatchObject({ dirty: true, version: 'v1.0.0' });
    identities.add(untracked.identity);
    writeFileSync(join(dir, 'notes.txt'), 'two\n');
    identities.add((await resolve()).identity);

    writeFileSync(join(dir, 'daemon', 'info.go'), 'package daemon\n\nvar edited = 1\n');
    const edited = await resolve();
    expect(edited).toMatchObject({ dirty: true, version: 'v1.0.0-dirty' });
    identities.add(edited.identity);

    git('mv', 'README', 'README.md');
    identities.add((await resolve()).identity);
    // Staged, then the work tree put back: the index still differs from HEAD.
    git('add', 'daemon/info.go');
    writeFileSync(join(dir, 'daemon', 'info.go'), 'package daemon\n');
    identities.add((await resolve()).identity);
    rmSync(join(dir, 'notes.txt'));
    rmSync(join(dir, 'daemon', 'info.go'));
    identities.add((await resolve()).identity);
    expect(identities.size).toBe(7);
  });

  it('in a subfolder of a repository, reads untracked files from its top', async () => {
    const { dir } = repository();
    writeFileSync(join(dir, 'daemon', 'new.go'), 'package daemon\n');
    const before = await resolvePath({ kind: 'path', dir: join(dir, 'daemon') }, context(dir));
    writeFileSync(join(dir, 'daemon', 'new.go'), 'package daemon\n\nvar changed = 1\n');
    const after = await resolvePath({ kind: 'path', dir: join(dir, 'daemon') }, context(dir));
    expect(after.identity).not.toBe(before.identity);
  });

  it('refuses a repository without a commit, naming the fix', async () => {
    const dir = tempDir('path-source-empty');
    execFileSync('git', ['-C', dir, 'init', '-q']);
    await expect(resolvePath({ kind: 'path', dir }, context(dir))).rejects.toThrow(/without a commit/);
  });

  it('outside git, keys on the content of every file', async () => {
    const dir = tempDir('path-source-plain');
    writeFileSync(join(dir, 'main.go'), 'package main\n');
    const before = await resolvePath({ kind: 'path', dir }, context(dir));
    writeFileSync(join(dir, 'main.go'), 'package main\n\n// edited\n');
    const after = await resolvePath({ kind: 'path', dir }, context(dir));
    expect(before.identity).toMatch(/^tree /);
    expect(after.identity).not.toBe(before.identity);
  });
});

describe('git status --porcelain=v2 -z', () => {
  it('gives the commit and each change with its path, a rename with its original path, paths with spaces whole', () => {
    const oid = 'a'.repeat(40);
    const blob = 'b'.repeat(40);
    const renamed = `2 R. N... 100644 100644 100644 ${blob} ${blob} R100 new name`;
    const output = [
      `# branch.oid ${oid}`,
      '# branch.head main',
      `1 .M N... 100644 100644 100644 ${blob} ${blob} daemon/info.go`,
      renamed,
      'old name',
      `u UU N... 100644 100644 100644 100644 ${blob} ${blob} ${blob} conflicted.go`,
      '? really untracked',
      '',
    ].join('\0');
    expect(parseStatus(output)).toEqual({
      commit: oid,
      changes: [
        { entry: `1 .M N... 100644 100644 100644 ${blob} ${blob} daemon/info.go`, path: 'daemon/info.go', tracked: true },
        { entry: `${renamed}\0old name`, path: 'new name', tracked: true },
        { entry: `u UU N... 100644 100644 100644 100644 ${blob} ${blob} ${blob} conflicted.go`, path: 'conflicted.go', tracked: true },
        { entry: '? really untracked', path: 'really untracked', tracked: false },
      ],
    });
    expect(parseStatus('# branch.oid (initial)\0# branch.head main\0')).toEqual({ changes: [] });
  });
});
