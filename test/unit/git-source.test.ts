import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import type { GitSourceSpec } from '../../builder/model.js';
import { repositoryLocation, resolveGit } from '../../builder/sources/git.js';
import { tempDir } from '../support/temp.js';
import { FixtureRepo, resolveContext } from '../support/git-repos.js';

const headOf = (dir: string) => execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();

describe('the git source', () => {
  let work: string;
  let origin: FixtureRepo;
  let released: string;
  let later: string;
  let cacheDir: string;

  beforeEach(() => {
    work = tempDir('git-source');
    origin = new FixtureRepo(join(work, 'origin'));
    released = origin.commit({ README: 'v1\n', 'src/main.c': 'int main(void) { return 0; }\n' }, 'release 1');
    origin.tag('v1', released);
    later = origin.commit({ README: 'v2\n' }, 'after the release');
    cacheDir = join(work, 'cache');
  });

  const spec = (overrides: Partial<GitSourceSpec> = {}): GitSourceSpec => ({ kind: 'git', url: origin.fileUrl, ref: 'v1', commit: released, ...overrides });

  it('fetches the pinned commit of a file:// repository shallowly into a cache keyed by commit, .git included', async () => {
    const context = resolveContext(cacheDir, join(work, 'run'));
    const source = await resolveGit(spec(), context);
    expect(source).toMatchObject({ kind: 'git', identity: `git ${released}`, version: 'v1', commit: released, dirty: false });
    expect(source.dir).toBe(join(cacheDir, 'git', released));
    expect(headOf(source.dir)).toBe(released);
    expect(readFileSync(join(source.dir, 'README'), 'utf8')).toBe('v1\n');
    expect(readFileSync(join(source.dir, '.git', 'shallow'), 'utf8').trim()).toBe(released);
    const committed = Number(origin.git('log', '-1', '--format=%ct', released));
    expect(source.commitTime?.getTime()).toBe(committed * 1000);
    expect(readdirSync(join(cacheDir, 'git'))).toEqual([released]); // no temporary folder left behind
  });

  it('accepts a plain path, relative or absolute, and a branch as the ref', async () => {
    const absolute = await resolveGit(spec({ url: origin.dir }), resolveContext(cacheDir, join(work, 'run')));
    expect(headOf(absolute.dir)).toBe(released);
    const branch = await resolveGit(
      spec({ url: relative(process.cwd(), origin.dir), ref: 'main', commit: later }),
      resolveContext(cacheDir, join(work, 'run')),
    );
    expect(headOf(branch.dir)).toBe(later);
    expect(repositoryLocation('https://example.com/x.git')).toBe('https://example.com/x.git');
    expect(repositoryLocation('git@example.com:x.git')).toBe('git@example.com:x.git');
    expect(repositoryLocation('./x')).toBe(join(process.cwd(), 'x'));
  });

  it('refuses a tag that was moved away from the pinned commit, and keeps nothing of it', async () => {
    origin.tag('v1', later, true);
    const attempt = resolveGit(spec(), resolveContext(cacheDir, join(work, 'run')));
    await expect(attempt).rejects.toThrow(UserError);
    await expect(attempt).rejects.toThrow(`${origin.fileUrl} v1 is commit ${later}, but the component pins ${released}`);
    expect(existsSync(join(cacheDir, 'git', released))).toBe(false);
    expect(existsSync(join(cacheDir, 'git', later))).toBe(false);
    expect(readdirSync(join(cacheDir, 'git'))).toEqual([]);
  });

  it('refuses a pin that is not the commit the ref points at', async () => {
    await expect(resolveGit(spec({ ref: 'main' }), resolveContext(cacheDir, join(work, 'run')))).rejects.toThrow(
      `main is commit ${later}, but the component pins ${released}`,
    );
    await expect(resolveGit(spec({ commit: 'v1' }), resolveContext(cacheDir, join(work, 'run')))).rejects.toThrow(/is not a full commit hash/);
  });

  it('uses the cached checkout without fetching again, even with the origin gone', async () => {
    const first = await resolveGit(spec(), resolveContext(cacheDir, join(work, 'run')));
    renameSync(origin.dir, join(work, 'origin-gone'));
    const context = resolveContext(cacheDir, join(work, 'run'));
    const second = await resolveGit(spec(), context);
    expect(second).toEqual(first);
    expect(context.logText()).toMatch(/is in the cache .*; not fetching/);
    expect(context.logText()).not.toMatch(/git .*fetch/);
  });

  it('fetches again when the cached checkout was changed', async () => {
    const first = await resolveGit(spec(), resolveContext(cacheDir, join(work, 'run')));
    writeFileSync(join(first.dir, 'README'), 'edited in the cache\n');
    const context = resolveContext(cacheDir, join(work, 'run'));
    const second = await resolveGit(spec(), context);
    expect(context.logText()).toMatch(/has local changes; fetching it again/);
    expect(readFileSync(join(second.dir, 'README'), 'utf8')).toBe('v1\n');
  });

  it('clears what an interrupted fetch of the same commit left behind', async () => {
    const deadPid = spawnSync('true').pid;
    const leftover = join(cacheDir, 'git', `.tmp-${released}-${deadPid}-x1`);
    mkdirSync(join(leftover, '.git'), { recursive: true });
    const source = await resolveGit(spec(), resolveContext(cacheDir, join(work, 'run')));
    expect(readdirSync(join(cacheDir, 'git'))).toEqual([released]);
    expect(headOf(source.dir)).toBe(released);
  });

  it('fails with git’s own reason for a repository that does not exist', async () => {
    const missing = `file://${join(work, 'nowhere')}`;
    const attempt = resolveGit(spec({ url: missing }), resolveContext(cacheDir, join(work, 'run')));
    await expect(attempt).rejects.toThrow(`cannot fetch v1 from ${missing}:`);
    await expect(attempt).rejects.toThrow(/does not appear to be a git repository|Could not read from remote/);
  });
});
