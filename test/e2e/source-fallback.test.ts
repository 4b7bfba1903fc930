import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../core/manifest.js';
import type { SourceSpec } from '../../builder/model.js';
import { runTask } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { writeFixtureComponent, writeGoModule } from '../support/fixtures.js';
import { FixtureRepo } from '../support/git-repos.js';

function writeComponent(dir: string, name: string, sources: SourceSpec[]): void {
  writeFixtureComponent(dir, { name, sources });
}

describe('sources tried in order of preference', () => {
  const work = tempDir('fallback');
  const repo = new FixtureRepo(join(work, 'upstream'));
  const cache = join(work, 'cache');
  let released = '';
  let moved = '';

  beforeAll(() => {
    writeGoModule(repo.dir, 'upstream');
    released = repo.commit({}, 'release');
    repo.tag('v1.0.0', released);
    moved = repo.commit({ 'extra.go': 'package main\n' }, 'later');
    repo.tag('v1.0.0', moved, true); // the tag moved after the pin was taken
  });

  const make = (components: string, bundles: string, env: Record<string, string> = {}) =>
    runTask('make', ['--components', components, '--bundles', bundles], { MOBY_MAKE_CACHE: cache, ...env });

  it('builds from the git source at the pinned commit and records it', async () => {
    const components = join(work, 'c-git');
    const bundles = join(work, 'b-git');
    writeComponent(components, 'hello', [{ kind: 'git', url: repo.fileUrl, ref: 'main', commit: moved }]);
    const result = await make(components, bundles);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(execFileSync(join(bundles, 'binary-daemon', 'hello'), { encoding: 'utf8' })).toContain(`version=main commit=${moved}`);
    expect(readManifest(join(bundles, 'binary-daemon')).components.hello?.source).toEqual({
      kind: 'git',
      identity: `git ${moved}`,
      version: 'main',
      commit: moved,
      dirty: false,
      origin: { url: repo.fileUrl, ref: 'main' },
    });
  });

  it('refuses a moved tag and builds nothing when it is the only source', async () => {
    const components = join(work, 'c-moved');
    const bundles = join(work, 'b-moved');
    writeComponent(components, 'hello', [{ kind: 'git', url: repo.fileUrl, ref: 'v1.0.0', commit: released }]);
    const result = await make(components, bundles);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `--- hello failed: hello: git ${repo.fileUrl} v1.0.0 (${released.slice(0, 12)}): ${repo.fileUrl} v1.0.0 is commit ${moved}, but the component pins ${released}`,
    );
    expect(existsSync(join(bundles, 'binary-daemon', 'hello'))).toBe(false);
    expect(readFileSync(join(bundles, 'logs', 'hello.log'), 'utf8')).not.toMatch(/go build/);
  });

  it('falls back to the next source when the first fails, logs why and records the one used', async () => {
    const components = join(work, 'c-fallback');
    const bundles = join(work, 'b-fallback');
    const checkout = join(work, 'checkout');
    execFileSync('git', ['clone', '-q', repo.dir, checkout]);
    writeComponent(components, 'hello', [
      { kind: 'git', url: repo.fileUrl, ref: 'v1.0.0', commit: released },
      { kind: 'path', dir: checkout },
    ]);
    const result = await make(components, bundles);
    expect(result.code).toBe(0);
    const log = readFileSync(join(bundles, 'logs', 'hello.log'), 'utf8');
    expect(log).toMatch(new RegExp(`hello: git .* failed: .*is commit ${moved}, but the component pins ${released}`));
    expect(log).toContain(`==> hello: using path ${checkout} = git ${moved}`);
    expect(readManifest(join(bundles, 'binary-daemon')).components.hello?.source).toMatchObject({ kind: 'path', commit: moved });
  });

  it('forces one kind from the environment, skipping the others', async () => {
    const components = join(work, 'c-forced');
    const bundles = join(work, 'b-forced');
    writeComponent(components, 'hello', [
      { kind: 'path', dir: join(work, 'no-such-checkout') },
      { kind: 'git', url: repo.fileUrl, ref: 'main', commit: moved },
    ]);
    const result = await make(components, bundles, { HELLO_SOURCE: 'git' });
    expect(result.code).toBe(0);
    expect(readFileSync(join(bundles, 'logs', 'hello.log'), 'utf8')).not.toContain('no-such-checkout');
    expect(readManifest(join(bundles, 'binary-daemon')).components.hello?.source.kind).toBe('git');
  });

  it('lists every attempt and why when no source can be used', async () => {
    const components = join(work, 'c-none');
    const bundles = join(work, 'b-none');
    const nowhere = `file://${join(work, 'nowhere.git')}`;
    writeComponent(components, 'hello', [
      { kind: 'git', url: nowhere, ref: 'v1.0.0', commit: released },
      { kind: 'git', url: repo.fileUrl, ref: 'v1.0.0', commit: released },
      { kind: 'path', dir: join(work, 'no-such-checkout') },
    ]);
    const result = await make(components, bundles);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('hello: no source could be used; tried:');
    expect(result.stderr).toContain(`git ${nowhere} v1.0.0 (${released.slice(0, 12)}): cannot fetch v1.0.0 from ${nowhere}:`);
    expect(result.stderr).toContain(`git ${repo.fileUrl} v1.0.0 (${released.slice(0, 12)}): ${repo.fileUrl} v1.0.0 is commit ${moved}`);
    expect(result.stderr).toContain(`path ${join(work, 'no-such-checkout')}: source directory ${join(work, 'no-such-checkout')} does not exist`);
    expect(existsSync(join(bundles, 'binary-daemon', 'hello'))).toBe(false);
  });
});
