import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE, readManifest } from '../../core/manifest.js';
import { projectRoot } from '../../tasks/paths.js';
import { runTask } from '../support/cli.js';
import { cacheMachine, editedHelloTree } from '../support/cache-machine.js';
import { fixture } from '../support/fixture-project.js';
import { CACHE_REPOSITORY, startRegistry, type TestRegistry } from '../../tasks/lib/loopback-registry.js';
import { tempDir } from '../support/temp.js';
import { cacheConfig } from '../../cache/config.js';
import { registryClient } from '../../cache/credentials.js';
import { membersByPack, packsOf, readGoCacheMap, sparsePacks, writeGoCacheMap } from '../../cache/go-cache-map.js';
import { digestOf } from '../../cache/registry.js';
import { TINI_DEBIAN_SOURCE } from '../../components/init.js';

const COSIGN_FIXTURES = join(projectRoot, 'test', 'fixtures', 'cosign');
const COSIGN_KEY = join(COSIGN_FIXTURES, 'cosign.key');
const COSIGN_PUB = join(COSIGN_FIXTURES, 'cosign.pub');
const OTHER_COSIGN_PUB = join(COSIGN_FIXTURES, 'other', 'cosign.pub');

/**
 * The shared cache against a real registry (distribution, TLS, htpasswd):
 * machine A builds and pushes, machine B (its own bundles, GOCACHE,
 * GOMODCACHE and tools cache, all empty) takes the build instead of
 * compiling, and every way the registry can let B down ends in a local build.
 */
describe('the shared cache on an OCI registry', () => {
  let registry: TestRegistry;
  const a = fixture();

  /** A second machine for the same checkout (or `components`): nothing of A's but the source and the registry. */
  const machine = (components = a.paths.components) => cacheMachine(components);

  const editedTree = (message: string) => editedHelloTree(a.paths.src, message);

  /** A registry client as a machine with these variables makes it. */
  const clientOf = async (env: Record<string, string>) => {
    const config = cacheConfig(env);
    if (!config) throw new Error('no cache registry in the test environment');
    return registryClient(config, env);
  };

  const sha256s = (bundle: string) => Object.fromEntries(Object.entries(readManifest(bundle).files).map(([name, file]) => [name, file.sha256]));

  beforeAll(async () => {
    registry = await startRegistry(tempDir('registry'));
    const pushed = await a.make([], registry.env({ MOBY_MAKE_CACHE_PUSH: '1' }));
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(new RegExp(`hello: pushed to ${registry.host}/${CACHE_REPOSITORY}@sha256:[0-9a-f]{64}`));
  });
  afterAll(async () => registry?.stop());

  it('B takes A build from the registry: no compiler, the same sha256 for every file, the entry in its manifest', async () => {
    const b = machine();
    const result = await b.make(registry.env());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/hello: from cache \S+@sha256:[0-9a-f]{64} in \d/);
    expect(b.goBuilds()).toEqual([]);
    expect(sha256s(b.bundle)).toEqual(sha256s(a.bundle));
    expect(readManifest(b.bundle).components.hello?.fromCache).toMatch(new RegExp(`^${registry.host}/${CACHE_REPOSITORY}@sha256:`));
    execFileSync('sh', ['-c', 'sha256sum -c *.sha256 && md5sum -c *.md5'], { cwd: b.bundle, stdio: 'ignore' });
    expect(execFileSync(join(b.bundle, 'hello'), { encoding: 'utf8' })).toMatch(/^hello /);
    // The audit: the cached outputs are what the manifest's commands make.
    const verified = await runTask('verify-bundle', ['--manifest', join(b.bundle, MANIFEST_FILE)], { TMPDIR: tempDir('verify') });
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
  });

  it('a pushing runner offers what its bundle holds once: an up-to-date bundle fills an empty repository, a second run pushes nothing', async () => {
    const other = registry.env({ MOBY_MAKE_CACHE_PUSH: '1', MOBY_MAKE_CACHE_REGISTRY: `${registry.host}/team/second` });
    const first = await a.make([], other);
    expect(first.stdout).toMatch(/everything is up to date/);
    expect(first.stdout).toMatch(new RegExp(`hello: pushed to ${registry.host}/team/second@sha256:`));
    const again = await a.make([], other);
    expect(again.stderr).toBe('');
    expect(again.stdout).not.toMatch(/pushed/);
  });

  it('a pushing runner records the entries it uses, and prune keeps an old entry one used within the age', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const uses = registry.env({ MOBY_MAKE_CACHE_PUSH: '1', MOBY_MAKE_CACHE_REGISTRY: `${registry.host}/team/uses` });
    const branch = machine(editedTree('branch'));
    // A release branch's entry, pushed first; then main's, the component's newest.
    expect((await branch.make(uses)).stdout).toMatch(/hello: pushed to /);
    expect((await a.make([], uses)).stdout).toMatch(/hello: pushed to /);
    const ls = async () => (await runTask('cache', ['ls'], uses)).stdout.split('\n').filter((line) => line.startsWith('hello  '));
    expect((await ls()).filter((line) => line.includes(' used '))).toEqual([]);
    // The branch's runner, up to date, finds its entry there and records the day: no push, no write on a second run the same day.
    const again = await branch.make(uses);
    expect(again.stderr).toBe('');
    expect(again.stdout).not.toMatch(/pushed/);
    const [older, newest] = await ls();
    expect(older).toMatch(new RegExp(` pushed \\S+Z {2}used ${today} {2}unsigned `));
    expect(newest).not.toMatch(/ used /);
    // Pushed before the cutoff and not the newest, but used within the age: kept.
    const pruned = await runTask('cache', ['prune', '--older-than', '0m'], uses);
    expect(pruned.stderr).toBe('');
    expect(pruned.stdout).toMatch(/^pruned 0 entries pushed before .*, kept 2;/m);
    // A fresh pushing runner that takes main's entry from the registry records its use too.
    const fresh = machine();
    expect((await fresh.make(uses)).stdout).toMatch(/hello: from cache /);
    expect((await ls())[1]).toMatch(new RegExp(` used ${today} `));
  });

  it("an edited tree on B, which the registry has no outputs for, compiles only what the edit touched: the rest of go's build cache comes from A's push", async () => {
    const b = machine(editedTree('edited'));
    const result = await b.make(registry.env());
    expect(result.stderr).toBe('');
    expect(b.goBuilds()).toHaveLength(1);
    expect(execFileSync(join(b.bundle, 'hello'), { encoding: 'utf8' })).toMatch(/^edited /);
    const counts = /moby-make go cache: (\d+) from GOCACHE, (\d+) from (\S+), (\d+) missed, (\d+) stored/.exec(
      readFileSync(join(b.paths.bundles, 'logs', 'hello.log'), 'utf8'),
    );
    expect(counts?.slice(1)).toEqual([
      '0',
      expect.stringMatching(/^[1-9]\d+$/),
      `${registry.host}/${CACHE_REPOSITORY}`,
      expect.any(String),
      expect.any(String),
    ]);
    // The standard library's packages came from the registry; what missed is the edited main package and the link.
    const [, , fromRegistry, , missed] = counts as unknown as [string, string, string, string, string];
    expect(Number(missed)).toBeLessThan(Number(fromRegistry) / 10);
  });

  it("--cache-registry alone, without the variable, routes go's build cache through the registry as well as the components", async () => {
    const b = machine(editedTree('flagged'));
    const result = await b.make(registry.env({ MOBY_MAKE_CACHE_REGISTRY: '' }), ['--cache-registry', `${registry.host}/${CACHE_REPOSITORY}`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(b.goBuilds()).toHaveLength(1);
    const counts = /moby-make go cache: \d+ from GOCACHE, (\d+) from (\S+),/.exec(readFileSync(join(b.paths.bundles, 'logs', 'hello.log'), 'utf8'));
    expect(counts?.slice(1)).toEqual([expect.stringMatching(/^[1-9]\d+$/), `${registry.host}/${CACHE_REPOSITORY}`]);
  });

  it("a contributor's machine whose GOCACHE holds the last build fetches nothing for its next edit: the registry is asked only for what it lacks", async () => {
    const root = tempDir('contributor');
    const fetched = (bundles: string) =>
      /moby-make go cache: \d+ from GOCACHE, (\d+) from \S+, \d+ missed, \d+ stored; (\d+) blobs \([\d.]+ MB\) fetched/
        .exec(readFileSync(join(bundles, 'logs', 'hello.log'), 'utf8'))
        ?.slice(1)
        .map(Number);
    const first = cacheMachine(editedTree('first'), root);
    expect((await first.make(registry.env())).code).toBe(0);
    const [fromRegistry, blobs] = fetched(first.paths.bundles) ?? [];
    expect(fromRegistry).toBeGreaterThan(10);
    expect(blobs).toBeGreaterThan(0);
    // The next edit misses its own package and the link; every other object is in GOCACHE, so no pack is fetched again.
    const second = cacheMachine(editedTree('second'), root);
    const result = await second.make(registry.env());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(execFileSync(join(second.bundle, 'hello'), { encoding: 'utf8' })).toMatch(/^second /);
    expect(fetched(second.paths.bundles)).toEqual([0, 0]);
  });

  it("an object of the Go cache's packs that fails its OutputID is refused and compiled; the rest still comes from the registry", async () => {
    const env = registry.env();
    const map = await readGoCacheMap(await clientOf(env), 'gocache-hello');
    const largest = [...map.values()].filter((entry) => entry.pack).sort((x, y) => y.size - x.size)[0];
    if (!largest?.pack) throw new Error('the Go cache map holds no packed object');
    const blob = join(registry.storage, 'docker/registry/v2/blobs/sha256', largest.pack.digest.slice(0, 2), largest.pack.digest, 'data');
    const original = readFileSync(blob);
    const tampered = Buffer.from(original);
    const at = (largest.offset ?? 0) + Math.floor(largest.size / 2);
    tampered[at] = (tampered[at] ?? 0) ^ 0xff;
    writeFileSync(blob, tampered);
    try {
      const b = machine(editedTree('tampered'));
      const result = await b.make(env);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(execFileSync(join(b.bundle, 'hello'), { encoding: 'utf8' })).toMatch(/^tampered /);
      const log = readFileSync(join(b.paths.bundles, 'logs', 'hello.log'), 'utf8');
      expect(log).toMatch(
        new RegExp(
          `moby-make go cache: object sha256:${largest.output} of gocache-hello is corrupt \\(expected sha256:${largest.output}, got sha256:[0-9a-f]{64} at`,
        ),
      );
      const counts = /moby-make go cache: 0 from GOCACHE, (\d+) from \S+, (\d+) missed/.exec(log);
      // The corrupt object's action missed besides the edited package and the link; everything else came from the registry.
      expect(Number(counts?.[2])).toBeGreaterThanOrEqual(3);
      expect(Number(counts?.[1])).toBeGreaterThan(Number(counts?.[2]) * 10);
    } finally {
      writeFileSync(blob, original);
    }
  });

  it("docker-init, whose pins alone fix its build, is taken on B without fetching its source: no apt, no Debian tarball in B's cache", async () => {
    // Forced to the Debian tarball on both machines, so neither takes the git candidate when GitHub answers; a repository of its own, so the listing tests see hello alone.
    const only = (bundles: string) => ['--only', 'init', '--bundles', bundles];
    const repository = { MOBY_MAKE_CACHE_REGISTRY: `${registry.host}/team/init` };
    const pushed = await runTask('make', only(tempDir('init-a')), registry.env({ ...repository, MOBY_MAKE_CACHE_PUSH: '1', INIT_SOURCE: 'debian-source' }));
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(/init: pushed to /);
    const cacheB = tempDir('init-b-cache');
    const bundlesB = tempDir('init-b');
    const taken = await runTask('make', only(bundlesB), registry.env({ ...repository, INIT_SOURCE: 'debian-source', MOBY_MAKE_CACHE: cacheB }));
    expect(taken.stderr).toBe('');
    expect(taken.code).toBe(0);
    expect(taken.stdout).toMatch(/init: from cache \S+@sha256:[0-9a-f]{64}/);
    expect(existsSync(join(cacheB, 'debian-source'))).toBe(false);
    const record = readManifest(join(bundlesB, 'binary-daemon')).components.init;
    expect(record?.source).toMatchObject({ kind: 'debian-source', identity: `sha256:${TINI_DEBIAN_SOURCE.sha256}` });
    expect(execFileSync(join(bundlesB, 'binary-daemon', 'docker-init'), ['--version'], { encoding: 'utf8' })).toMatch(/^tini version 0\.19\.0/);
  });

  it('a wrong password is a one-line error naming the registry and the variables, before anything builds', async () => {
    const b = machine();
    const result = await b.make(registry.env({ MOBY_MAKE_CACHE_PASSWORD: 'wrong' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`cache registry ${registry.host}/${CACHE_REPOSITORY} refused the credentials of ci .*\\(401\\)`));
    expect(result.stderr).toMatch(/MOBY_MAKE_CACHE_USER and MOBY_MAKE_CACHE_PASSWORD/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(b.goBuilds()).toEqual([]);
  });

  it('a tampered blob is refused as a corrupt entry, and the component is built locally to the same bytes', async () => {
    const b = machine();
    const digest = readManifest(a.bundle).files.hello?.sha256 as string;
    const blob = join(registry.storage, 'docker/registry/v2/blobs/sha256', digest.slice(0, 2), digest, 'data');
    const original = readFileSync(blob);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 100] = (tampered[tampered.length - 100] ?? 0) ^ 0xff;
    writeFileSync(blob, tampered);
    try {
      const result = await b.make(registry.env());
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(
        new RegExp(`warning: cache entry ${registry.host}/${CACHE_REPOSITORY}@sha256:[0-9a-f]{64} is corrupt \\(expected sha256:${digest}`),
      );
      expect(b.goBuilds().length).toBeGreaterThan(0);
      expect(sha256s(b.bundle)).toEqual(sha256s(a.bundle));
      expect(readManifest(b.bundle).components.hello?.fromCache).toBeUndefined();
      expect(readdirSync(b.bundle).filter((name) => name.includes('partial'))).toEqual([]);
    } finally {
      writeFileSync(blob, original);
    }
  });

  it('a registry killed mid-download: said once, built locally, nothing half-downloaded published', async () => {
    const b = machine();
    // B's previous bundle, from an older tree; the registry holds the newer one A pushed.
    const olderComponents = editedTree('older');
    const first = await runTask('make', ['--components', olderComponents, '--bundles', b.paths.bundles], { PATH: `${b.paths.bin}:${process.env.PATH}` });
    expect(first.code).toBe(0);
    const compiledBefore = b.goBuilds().length;

    const cut = await cuttingProxy(registry, 256 * 1024);
    try {
      const result = await b.make(registry.env({ MOBY_MAKE_CACHE_REGISTRY: `${cut.host}/${CACHE_REPOSITORY}` }));
      expect(result.code).toBe(0);
      expect(cut.cutAfter()).toBeGreaterThan(0);
      const warnings = result.stderr.split('\n').filter((line) => line.includes('is unreachable'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(new RegExp(`warning: the cache registry ${cut.host}/${CACHE_REPOSITORY} is unreachable \\(.*\\); building locally`));
      expect(b.goBuilds().length).toBeGreaterThan(compiledBefore);
      expect(sha256s(b.bundle)).toEqual(sha256s(a.bundle));
      execFileSync('sh', ['-c', 'sha256sum -c *.sha256'], { cwd: b.bundle, stdio: 'ignore' });
    } finally {
      await cut.close();
      await registry.start();
    }
  });

  /** B's make through a forward to the registry that answers each first request 429 with this Retry-After. */
  const makeThrottled = async (retryAfter: string) => {
    const b = machine();
    const slow = await throttlingProxy(registry, retryAfter);
    try {
      const result = await b.make(registry.env({ MOBY_MAKE_CACHE_REGISTRY: `${slow.host}/${CACHE_REPOSITORY}` }));
      return { b, result, store: `${slow.host}/${CACHE_REPOSITORY}`, throttled: slow.throttled() };
    } finally {
      await slow.close();
    }
  };

  it('a registry that asks to slow down (429, Retry-After: 1) is waited for: B takes the build from it, and says so once', async () => {
    const { b, result, store, throttled } = await makeThrottled('1');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(throttled).toBeGreaterThan(1);
    const notes = result.stdout.split('\n').filter((line) => line.includes('asked to slow down'));
    expect(notes).toEqual([`note: the cache registry ${store} asked to slow down (429): its calls wait and ask again`]);
    expect(result.stdout).toMatch(/hello: from cache \S+@sha256:[0-9a-f]{64} in \d/);
    expect(b.goBuilds()).toEqual([]);
    expect(sha256s(b.bundle)).toEqual(sha256s(a.bundle));
  });

  it('a registry that asks for a long wait (Retry-After: 120) is not waited for: said once, built locally', async () => {
    const { b, result, store, throttled } = await makeThrottled('120');
    expect(result.code).toBe(0);
    const warnings = result.stderr.split('\n').filter((line) => line.includes('is unreachable'));
    expect(warnings).toEqual([`warning: the cache registry ${store} is unreachable (GET manifest answered 429); building locally`]);
    // The first answer was taken at its word: no call was asked again.
    expect(throttled).toBe(1);
    expect(b.goBuilds().length).toBeGreaterThan(0);
    expect(sha256s(b.bundle)).toEqual(sha256s(a.bundle));
  });

  it('with a verify key, an unsigned entry is refused and built locally', async () => {
    const b = machine();
    const result = await b.make(registry.env({ MOBY_MAKE_CACHE_VERIFY_KEY: COSIGN_PUB }));
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /^warning: cache entry \S+@sha256:[0-9a-f]{64} is refused: it is not signed, and MOBY_MAKE_CACHE_VERIFY_KEY accepts only signed entries; building it locally$/m,
    );
    expect(b.goBuilds().length).toBeGreaterThan(0);
    expect(readManifest(b.bundle).components.hello?.fromCache).toBeUndefined();
  });

  it("a signed entry (cosign's key format and signature tag) is taken with its public key and refused with another", async () => {
    const components = editedTree('signed');
    const signing = machine(components);
    const pushed = await signing.make(registry.env({ MOBY_MAKE_CACHE_PUSH: '1', MOBY_MAKE_CACHE_SIGN_KEY: COSIGN_KEY, COSIGN_PASSWORD: 'moby-make-test' }));
    expect(pushed.stderr).toBe('');
    const entry = /hello: pushed to \S+@(sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1] as string;
    expect(entry).toBeDefined();

    const trusting = machine(components);
    const taken = await trusting.make(registry.env({ MOBY_MAKE_CACHE_VERIFY_KEY: COSIGN_PUB }));
    expect(taken.stderr).toBe('');
    expect(readManifest(trusting.bundle).components.hello?.fromCache).toBe(`${registry.host}/${CACHE_REPOSITORY}@${entry}`);
    expect(trusting.goBuilds()).toEqual([]);

    const other = machine(components);
    const refused = await other.make(registry.env({ MOBY_MAKE_CACHE_VERIFY_KEY: OTHER_COSIGN_PUB }));
    expect(refused.code).toBe(0);
    expect(refused.stderr).toMatch(/is refused: none of its signatures is by the key in MOBY_MAKE_CACHE_VERIFY_KEY; building it locally/);
    expect(other.goBuilds().length).toBeGreaterThan(0);
    expect(sha256s(other.bundle)).toEqual(sha256s(trusting.bundle));
  });

  it('a signing key that its password does not open is a one-line error before anything builds', async () => {
    const b = machine();
    const result = await b.make(registry.env({ MOBY_MAKE_CACHE_PUSH: '1', MOBY_MAKE_CACHE_SIGN_KEY: COSIGN_KEY, COSIGN_PASSWORD: 'wrong' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/MOBY_MAKE_CACHE_SIGN_KEY=\S+cosign\.key cannot be decrypted with COSIGN_PASSWORD/);
    expect(b.goBuilds()).toEqual([]);
  });

  it('npm run cache: ls and status show the entries, prune removes the old ones but each component newest, with their signatures', async () => {
    const cache = (args: string[]) => runTask('cache', args, registry.env());
    const listed = await cache(['ls']);
    expect(listed.stderr).toBe('');
    const rows = listed.stdout.split('\n').filter((line) => line.startsWith('hello  '));
    // A's entry (unsigned), and the signed one from the edited tree, oldest first.
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^hello {2}[0-9a-f]{12} {2}\d+\.\d MB {2}pushed \d{4}-\d\d-\d\dT\S+Z {2}unsigned {2}sha256:[0-9a-f]{64}$/);
    expect(rows[1]).toMatch(/ signed {2}sha256:/);
    const status = await cache(['status']);
    expect(status.stdout).toMatch(/^hello: 2 entries, \d+\.\d MB$/m);
    // The Go build cache too, with what its map holds: A's push, grown by the edited trees' builds.
    const goCache = new RegExp(
      `^go cache of hello: (\\d+) actions, (\\d+) objects in (\\d+) packs, (\\d+\\.\\d) MB, last used ${new Date().toISOString().slice(0, 10)}  gocache-hello$`,
      'm',
    );
    const [, actions, objects, packs] = goCache.exec(status.stdout) ?? [];
    const map = await readGoCacheMap(await clientOf(registry.env()), 'gocache-hello');
    expect([Number(actions), Number(objects), Number(packs)]).toEqual([
      map.size,
      new Set([...map.values()].map((entry) => entry.output)).size,
      packsOf(map).length,
    ]);
    expect(listed.stdout).toMatch(goCache);
    // The distinct total counts the Go cache's packs besides the entries' blobs.
    const [, listedMb, distinctMb] = /^2 entries, (\d+\.\d) MB as listed, (\d+\.\d) MB of distinct blobs in the registry$/m.exec(status.stdout) ?? [];
    expect(Number(distinctMb)).toBeGreaterThan(Number(listedMb));

    const pruned = await cache(['prune', '--older-than', '0m']);
    expect(pruned.stderr).toBe('');
    expect(pruned.stdout).toMatch(/^pruned 1 entries pushed before .*, kept 1;/m);
    const after = (await cache(['ls'])).stdout.split('\n').filter((line) => line.startsWith('hello  '));
    expect(after).toEqual([rows[1]]);
    expect((await cache(['prune'])).stderr).toMatch(/prune needs --older-than AGE/);
  });

  it('prune drops from a Go cache map the actions no build used within the age, and rewrites the packs left mostly unused', async () => {
    const env = registry.env();
    const client = await clientOf(env);
    const map = await readGoCacheMap(client, 'gocache-hello');
    expect(map.size).toBeGreaterThan(10);
    // All but the first three objects of each pack last used in 1970, as a map would hold them after months without a build using them.
    const recent = new Set([...membersByPack(map).values()].flatMap((members) => members.slice(0, 3).map((member) => member.output)));
    const aged = new Map([...map].map(([action, entry]) => [action, recent.has(entry.output) ? entry : { ...entry, day: 0 }]));
    await writeGoCacheMap(client, 'gocache-hello', aged);
    const stale = [...aged.values()].filter((entry) => entry.day === 0).length;
    // A pack of three objects or fewer (an edited tree's push) stays as it is: they are all still used.
    const sparse = sparsePacks(new Map([...aged].filter(([, entry]) => entry.day !== 0)));
    expect(sparse.length).toBeGreaterThan(0);

    const pruned = await runTask('cache', ['prune', '--older-than', '30d'], env);
    expect(pruned.stderr).toBe('');
    const line = new RegExp(
      `^gocache-hello: dropped ${stale} actions no build used within the age, kept ${map.size - stale}, repacked ${sparse.length} packs mostly dropped \\((\\d+\\.\\d) MB of objects released\\)$`,
      'm',
    ).exec(pruned.stdout);
    expect(Number(line?.[1])).toBeGreaterThan(0);
    const after = await readGoCacheMap(client, 'gocache-hello');
    expect([...after.keys()].sort()).toEqual(
      [...aged]
        .filter(([, entry]) => entry.day !== 0)
        .map(([action]) => action)
        .sort(),
    );
    // Every kept object is in a dense pack (the sparse ones rewritten), at the offset the map gives, byte for byte.
    expect(sparsePacks(after)).toEqual([]);
    const rewritten = new Set(sparse.map((pack) => pack.digest));
    for (const pack of packsOf(after)) {
      expect(rewritten.has(pack.digest)).toBe(false);
      const body = await client.blob(`sha256:${pack.digest}`, pack.size);
      for (const member of membersByPack(after).get(pack.digest) ?? []) {
        const offset = member.offset ?? 0;
        expect(digestOf(body.subarray(offset, offset + member.size))).toBe(`sha256:${member.output}`);
      }
    }
    // Nothing left to drop: a second prune leaves the map alone.
    expect((await runTask('cache', ['prune', '--older-than', '30d'], env)).stdout).not.toMatch(/gocache-hello: dropped/);
  });

  it('a registry that is not there: said once, built locally', async () => {
    const b = machine();
    const result = await b.make(registry.env({ MOBY_MAKE_CACHE_REGISTRY: `127.0.0.1:1/${CACHE_REPOSITORY}` }));
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^warning: the cache registry 127\.0\.0\.1:1\/team\/moby-make is unreachable \(.*ECONNREFUSED.*\); building locally$/m);
    expect(b.goBuilds().length).toBeGreaterThan(0);
  });
});

/**
 * A TCP forward to the registry that, once `limit` bytes have come back on
 * one connection (a blob on its way), kills the registry and drops the
 * connection: the registry dies mid-download as a crashed or unplugged one does.
 */
async function cuttingProxy(registry: TestRegistry, limit: number): Promise<{ host: string; cutAfter: () => number; close: () => Promise<void> }> {
  const [registryHost, registryPort] = registry.host.split(':') as [string, string];
  let cut = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(registryPort), registryHost);
    sockets.add(client).add(upstream);
    let received = 0;
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received < limit) {
        client.write(chunk);
        return;
      }
      cut = received;
      void registry.kill();
      for (const socket of sockets) socket.destroy();
    });
    for (const socket of [client, upstream]) socket.on('error', () => undefined);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return {
    host: await listenOnLoopback(server),
    cutAfter: () => cut,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * An HTTPS forward to the registry (with its certificate) that answers the
 * first request for each manifest and blob `429 Too Many Requests` with
 * `Retry-After: retryAfter`, as a registry under a burst or a hosted one's
 * rate limit does, and forwards the rest.
 */
async function throttlingProxy(registry: TestRegistry, retryAfter: string): Promise<{ host: string; throttled: () => number; close: () => Promise<void> }> {
  const [registryHost, registryPort] = registry.host.split(':') as [string, string];
  const ca = readFileSync(registry.caFile);
  const seen = new Set<string>();
  let throttled = 0;
  const server = createHttpsServer({ cert: ca, key: readFileSync(join(dirname(registry.caFile), 'key.pem')) }, (request, response) => {
    const path = request.url ?? '/';
    if (/\/(manifests|blobs)\//.test(path) && !seen.has(path)) {
      seen.add(path);
      throttled += 1;
      request.resume();
      response.writeHead(429, { 'retry-after': retryAfter, 'content-type': 'application/json' });
      response.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      return;
    }
    const upstream = httpsRequest({ host: registryHost, port: Number(registryPort), method: request.method, path, headers: request.headers, ca }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  return {
    host: await listenOnLoopback(server),
    throttled: () => throttled,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The server listening on a free loopback port: its host:port. */
async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}
