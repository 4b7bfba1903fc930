import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../core/manifest.js';
import { CACHE_REPOSITORY, startRegistry, type TestRegistry } from '../../tasks/lib/loopback-registry.js';
import { runTask } from '../support/cli.js';
import { cacheMachine, editedHelloTree } from '../support/cache-machine.js';
import { fixture } from '../support/fixture-project.js';
import { tempDir } from '../support/temp.js';

/**
 * The shared cache against a registry with token auth, as Docker Hub, GHCR
 * and Harbor run it: distribution checks a JWT from a token service, which
 * the client asks with its credentials, for the scopes the registry's
 * challenge names. No Basic credentials ever reach the registry.
 */
describe('the shared cache on a registry with token auth (Bearer)', () => {
  let registry: TestRegistry;
  const a = fixture();
  const sha256s = (bundle: string) => Object.fromEntries(Object.entries(readManifest(bundle).files).map(([name, file]) => [name, file.sha256]));
  const issued = () => registry.tokens?.issued ?? [];

  beforeAll(async () => {
    registry = await startRegistry(tempDir('token-registry'), { auth: 'token' });
    const pushed = await a.make([], registry.env({ MOBY_MAKE_CACHE_PUSH: '1' }));
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(new RegExp(`hello: pushed to ${registry.host}/${CACHE_REPOSITORY}@sha256:[0-9a-f]{64}`));
  });
  afterAll(async () => registry?.stop());

  it('A pushed with a token for pull and push; B takes the build with one of its own: no compiler, the same sha256s', async () => {
    expect(issued()[0]).toEqual([`repository:${CACHE_REPOSITORY}:pull,push`]);
    const before = issued().length;
    const b = cacheMachine(a.paths.components);
    const result = await b.make(registry.env());
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/hello: from cache \S+@sha256:[0-9a-f]{64} in \d/);
    expect(b.goBuilds()).toEqual([]);
    expect(sha256s(b.bundle)).toEqual(sha256s(a.bundle));
    expect(issued().length).toBeGreaterThan(before);
  });

  it("an edited tree on B takes go's build cache with a token: the program's threads download the packs with it", async () => {
    const b = cacheMachine(editedHelloTree(a.paths.src, 'tokened'));
    const result = await b.make(registry.env());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(execFileSync(join(b.bundle, 'hello'), { encoding: 'utf8' })).toMatch(/^tokened /);
    // The threads had the token: no pack went the main thread's way.
    const counts = /moby-make go cache: 0 from GOCACHE, (\d+) from \S+, (\d+) missed, \d+ stored; (\d+) blobs \([\d.]+ MB\) fetched$/m.exec(
      readFileSync(join(b.paths.bundles, 'logs', 'hello.log'), 'utf8'),
    );
    const [fromRegistry, missed, blobs] = (counts?.slice(1) ?? []).map(Number);
    expect(blobs).toBeGreaterThan(0);
    expect(missed).toBeLessThan((fromRegistry ?? 0) / 10);
  });

  it('cache prune deletes with a token for the delete scope the challenge names, keeping the newest entry', async () => {
    const edited = cacheMachine(editedHelloTree(a.paths.src, 'edited'));
    const pushed = await edited.make(registry.env({ MOBY_MAKE_CACHE_PUSH: '1' }));
    expect(pushed.stdout).toMatch(/hello: pushed to /);
    const pruned = await runTask('cache', ['prune', '--older-than', '0m'], registry.env());
    expect(pruned.stderr).toBe('');
    expect(pruned.stdout).toMatch(/^pruned 1 entries pushed before .*, kept 1;/m);
    expect(issued()).toContainEqual([`repository:${CACHE_REPOSITORY}:pull,push`, `repository:${CACHE_REPOSITORY}:delete`]);
    const listed = await runTask('cache', ['ls'], registry.env());
    expect(listed.stdout.split('\n').filter((line) => line.startsWith('hello  '))).toHaveLength(1);
  });

  it('a wrong password, refused by the token service, is the same one-line error before anything builds', async () => {
    const b = cacheMachine(a.paths.components);
    const result = await b.make(registry.env({ MOBY_MAKE_CACHE_PASSWORD: 'wrong' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`cache registry ${registry.host}/${CACHE_REPOSITORY} refused the credentials of ci .*\\(401\\)`));
    expect(result.stderr).toMatch(/MOBY_MAKE_CACHE_USER and MOBY_MAKE_CACHE_PASSWORD/);
    expect(b.goBuilds()).toEqual([]);
  });
});
