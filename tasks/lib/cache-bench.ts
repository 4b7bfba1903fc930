import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveDaemonSource } from '../../core/daemon-source.js';
import { bundlePaths } from '../../core/bundle-layout.js';
import { jsonOrUndefined } from '../../core/json-file.js';
import { readManifest } from '../../core/manifest.js';
import { median } from '../../core/stats.js';
import { defaultBundlesDir, defaultCacheDir, taskArgv } from '../paths.js';
import { CACHE_REPOSITORY, startRegistry, type TestRegistry } from './loopback-registry.js';

function wallOf(argv: string[], env: NodeJS.ProcessEnv): { wall: number; ok: boolean; output: string } {
  const started = process.hrtime.bigint();
  const result = spawnSync(argv[0] as string, argv.slice(1), { env, encoding: 'utf8', maxBuffer: 1 << 28 });
  return { wall: Number(process.hrtime.bigint() - started) / 1e9, ok: result.status === 0, output: result.stdout + result.stderr };
}

/**
 * A machine with nothing of this one's but the module cache (GOMODCACHE:
 * verified sources), or not even that. Its folder is the bench's, removed
 * when the bench ends: removed between rounds, its thousands of files made
 * the next fresh machine's creates slow (see createMicroseconds), which no
 * new machine pays.
 */
function freshMachine(work: string, withModules: boolean): { env: NodeJS.ProcessEnv; root: string } {
  const root = mkdtempSync(join(work, 'fresh-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CI: 'true',
    MOBY_MAKE_BUNDLES: join(root, 'bundles'),
    MOBY_MAKE_CACHE: join(root, 'cache'),
    GOCACHE: join(root, 'gocache'),
    ...(withModules ? {} : { GOMODCACHE: join(root, 'gomodcache') }),
  };
  return { env, root };
}

const make = (env: NodeJS.ProcessEnv, args: string[] = []) => wallOf(taskArgv('make', '--output', 'plain', ...args), env);

/**
 * The shared cache on a loopback registry (TLS, htpasswd): the bundle pushed
 * once, then a fresh machine's `npm run make` against curl fetching the same
 * blobs from the same registry (alternating, medians); a fresh machine
 * without even the module cache once; and a one-line DAEMON_SRC edit built
 * on a fresh machine through the registry's Go cache against the same
 * rebuild on this machine's warm GOCACHE.
 */
export function benchCache(rounds: number): Promise<number> {
  return withBenchRegistry('cache', async (work, registry) => {
    benchBundleFetch(work, registry, rounds);
    benchFrozenImages(work, rounds, registry);
    await benchSourceEdit(work, registry, rounds);
  });
}

/** Only the bundle's fetch: a fresh machine's make against curl (`--only-cache-fetch`). */
export function benchCacheFetch(rounds: number): Promise<number> {
  return withBenchRegistry('fetch', (work, registry) => Promise.resolve(benchBundleFetch(work, registry, rounds)));
}

/**
 * The bundle pushed once, then a fresh machine's make against curl
 * fetching the same blobs (alternating, medians), with how long the make
 * ran before it asked for its first component; and a fresh machine
 * without even the module cache once.
 */
function benchBundleFetch(work: string, registry: TestRegistry, rounds: number): void {
  const base = { ...process.env, CI: 'true', ...registry.env() };
  const pushed = make({ ...base, MOBY_MAKE_CACHE_PUSH: '1' });
  if (!pushed.ok) throw new Error(`pushing the bundle failed:\n${pushed.output.slice(-2000)}`);
  const blobs = bundleBlobs(pushed.output, registry);
  const megabytes = blobs.reduce((sum, blob) => sum + blob.size, 0) / 1e6;
  console.log(`\nshared cache on a loopback registry: the bundle pushed in ${pushed.wall.toFixed(1)} s, ${blobs.length} blobs, ${megabytes.toFixed(0)} MB`);

  const ours: number[] = [];
  const beforeFetch: number[] = [];
  const theirs: number[] = [];
  const theirsVerified: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    theirs.push(curlBlobs(blobs, registry));
    theirsVerified.push(curlBlobsVerified(blobs, registry, work));
    const fresh = freshMachine(work, true);
    const started = Date.now();
    const result = wallOf(taskArgv('make', '--output', 'json'), { ...fresh.env, ...registry.env() });
    const events = result.output
      .split('\n')
      .map((line) => jsonOrUndefined(line)) // stderr's warnings are not JSON
      .filter((event): event is Record<string, unknown> => typeof event === 'object' && event !== null);
    const firstFetch = events.find((event) => event.type === 'state' && event.state === 'fetching');
    if (!result.ok || !firstFetch || events.some((event) => event.type === 'built'))
      throw new Error(`the fresh machine built instead of fetching:\n${result.output.slice(-2000)}`);
    ours.push(result.wall);
    beforeFetch.push((Date.parse(String(firstFetch.time)) - started) / 1000);
  }
  console.log(`  curl, the same blobs (2 at a time)          ${median(theirs).toFixed(2)} s`);
  console.log(`  curl into files, then sha256sum -c         ${median(theirsVerified).toFixed(2)} s  (the same work as make's fetch: download, write, verify)`);
  console.log(
    `  npm run make, fresh machine, module cache   ${median(ours).toFixed(2)} s  (${(median(ours) / median(theirs)).toFixed(2)}x curl, target 1.5x; ${(median(ours) / median(theirsVerified)).toFixed(2)}x curl with the check; median of ${rounds}, alternating)`,
  );
  console.log(
    `  its start, before it asks for a component    ${median(beforeFetch).toFixed(2)} s  (node, the modules, the keys: with curl's own fetch after it, ${((median(beforeFetch) + median(theirs)) / median(theirs)).toFixed(2)}x curl)`,
  );
  const bare = freshMachine(work, false);
  const bareRun = make({ ...bare.env, ...registry.env() });
  console.log(
    `  npm run make, fresh machine, nothing at all ${bareRun.wall.toFixed(1)} s  (the sources' module zips come from the Go module proxy first)${bareRun.ok ? '' : ' (FAILED)'}`,
  );
}

/** The frozen images through the registry alone (`--only-cache-images`), on a loopback registry of their own. */
export function benchCacheImages(rounds: number): Promise<number> {
  return withBenchRegistry('images', (work, registry) => Promise.resolve(benchFrozenImages(work, rounds, registry)));
}

/** Only the DAEMON_SRC edit through the registry's Go cache against the warm rebuild. */
export function benchCacheEdit(rounds: number): Promise<number> {
  return withBenchRegistry('edit', (work, registry) => benchSourceEdit(work, registry, rounds));
}

async function withBenchRegistry(name: string, bench: (work: string, registry: TestRegistry) => Promise<void>): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), `moby-make-bench-${name}-`));
  const registry = await startRegistry(join(work, 'registry'));
  try {
    await bench(work, registry);
  } finally {
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
  return 0;
}

const frozenImages = (env: NodeJS.ProcessEnv) => wallOf(taskArgv('frozen-images', '--no-load', '--output', 'plain'), env);

/**
 * Every frozen image pushed from this machine's cache (made first where
 * missing), then a fresh machine's `npm run frozen-images -- --no-load`
 * (an empty cache) against curl fetching the same blobs, alternating.
 */
function benchFrozenImages(work: string, rounds: number, registry: TestRegistry): void {
  const pushed = frozenImages({ ...process.env, CI: 'true', ...registry.env({ MOBY_MAKE_CACHE_PUSH: '1' }) });
  if (!pushed.ok) throw new Error(`pushing the frozen images failed:\n${pushed.output.slice(-2000)}`);
  const blobs = bundleBlobs(pushed.output, registry);
  const megabytes = blobs.reduce((sum, blob) => sum + blob.size, 0) / 1e6;
  console.log(`\nfrozen images through the registry: pushed in ${pushed.wall.toFixed(1)} s, ${blobs.length} blobs, ${megabytes.toFixed(0)} MB`);
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    theirs.push(curlBlobs(blobs, registry));
    const fresh = freshMachine(work, true);
    const result = frozenImages({ ...fresh.env, ...registry.env() });
    if (!result.ok || /making it/.test(result.output)) throw new Error(`the fresh machine made images instead of fetching:\n${result.output.slice(-2000)}`);
    ours.push(result.wall);
  }
  console.log(`  curl, the same blobs (2 at a time)          ${median(theirs).toFixed(2)} s`);
  console.log(
    `  npm run frozen-images -- --no-load, fresh   ${median(ours).toFixed(2)} s  (${(median(ours) / median(theirs)).toFixed(2)}x curl; target: 10 s; median of ${rounds}, alternating)`,
  );
}

interface Blob {
  url: string;
  size: number;
}

/** Every blob of the entries the push named (`<component>: pushed to <ref>`), read back from their manifests. */
function bundleBlobs(output: string, registry: TestRegistry): Blob[] {
  const refs = [...output.matchAll(/: pushed to \S+@(sha256:[0-9a-f]{64})/g)].map((match) => match[1] as string);
  const base = `https://${registry.host}/v2/${CACHE_REPOSITORY}`;
  return refs.flatMap((digest) => {
    const manifest = JSON.parse(curl([`${base}/manifests/${digest}`, '-H', 'Accept: application/vnd.oci.image.manifest.v1+json'], registry)) as {
      config: { digest: string; size: number };
      layers: { digest: string; size: number }[];
    };
    return [manifest.config, ...manifest.layers].map((blob) => ({ url: `${base}/blobs/${blob.digest}`, size: blob.size }));
  });
}

function curl(args: string[], registry: TestRegistry): string {
  return execFileSync('curl', ['-sSfL', '--cacert', registry.caFile, '-u', `${registry.user}:${registry.password}`, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
}

function curlBlobs(blobs: readonly Blob[], registry: TestRegistry): number {
  const args = ['--no-progress-meter', '--parallel', '--parallel-max', '2', ...blobs.flatMap((blob) => [blob.url, '-o', '/dev/null'])];
  const started = process.hrtime.bigint();
  curl(args, registry);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** The same blobs into files (2 at a time), then each checked against its digest: what a careful fetch must do besides downloading. */
function curlBlobsVerified(blobs: readonly Blob[], registry: TestRegistry, work: string): number {
  const dir = mkdtempSync(join(work, 'curl-'));
  const files = blobs.map((blob, i) => ({ ...blob, file: join(dir, String(i)), digest: (blob.url.split('/').pop() as string).replace(/^sha256:/, '') }));
  writeFileSync(join(dir, 'SHA256SUMS'), files.map((blob) => `${blob.digest}  ${blob.file}\n`).join(''));
  const started = process.hrtime.bigint();
  curl(['--no-progress-meter', '--parallel', '--parallel-max', '2', ...files.flatMap((blob) => [blob.url, '-o', blob.file])], registry);
  execFileSync('sha256sum', ['--quiet', '-c', join(dir, 'SHA256SUMS')]);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  rmSync(dir, { recursive: true, force: true });
  return seconds;
}

/** A copy of the bundle's dockerd source as a git checkout, for DAEMON_SRC. */
async function daemonCheckout(dir: string): Promise<string> {
  const env = process.env;
  const source = await resolveDaemonSource(readManifest(bundlePaths(defaultBundlesDir(env)).current), env, defaultCacheDir(env));
  cpSync(source.dir, dir, { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', dir]);
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', dir, '-c', 'user.email=bench@example.com', '-c', 'user.name=bench', ...args], { stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'bench');
  return dir;
}

/**
 * One line of daemon/info.go changed, as a contributor's edit: a different
 * fingerprint each time, the same packages, and a text no earlier bench
 * built. GOCACHE outlives a bench, and the warm rebuild of an edit it holds
 * would link without compiling the edited package.
 */
function editDaemon(checkout: string, n: number): void {
  const file = join(checkout, 'daemon', 'info.go');
  writeFileSync(file, `${readFileSync(file, 'utf8')}\n// bench edit ${n} of ${BENCH_RUN}\n`);
}

const BENCH_RUN = randomBytes(8).toString('hex');

/**
 * Microseconds to create an empty file in `dir` now (2000 of them, kept
 * until the bench ends). A fresh machine's edit creates about 7600 (dockerd's
 * objects and its actions' entries), and ext4 without a journal skips every
 * inode freed in the last minute or more when it allocates one: after a mass
 * deletion (a previous bench's clean-up), a create can take a millisecond
 * instead of ten microseconds, which the warm rebuild never pays.
 */
function createMicroseconds(dir: string): number {
  mkdirSync(dir, { recursive: true });
  const count = 2000;
  const started = process.hrtime.bigint();
  for (let at = 0; at < count; at += 1) closeSync(openSync(join(dir, String(at)), 'w'));
  return Number(process.hrtime.bigint() - started) / 1e3 / count;
}

async function benchSourceEdit(work: string, registry: TestRegistry, rounds: number): Promise<void> {
  const creates = createMicroseconds(join(work, 'creates-before'));
  const checkout = await daemonCheckout(join(work, 'moby'));
  const only = ['--only', 'daemon'];
  // This machine builds the edited tree once with pushing on: its warm GOCACHE answers, and the registry gets dockerd's map and objects.
  let edits = 0;
  editDaemon(checkout, (edits += 1));
  const pushing = make(
    { ...process.env, CI: 'true', ...registry.env({ MOBY_MAKE_CACHE_PUSH: '1' }), DAEMON_SRC: checkout, MOBY_MAKE_BUNDLES: join(work, 'pusher') },
    only,
  );
  if (!pushing.ok) throw new Error(`the pushing build failed:\n${pushing.output.slice(-2000)}`);
  const { MOBY_MAKE_CACHE_REGISTRY: _unset, ...withoutCache } = process.env;
  const warm: number[] = [];
  const remote: number[] = [];
  let counts = '';
  for (let round = 0; round < rounds; round += 1) {
    // The baseline: the next edit rebuilt on this machine's warm GOCACHE, no shared cache.
    editDaemon(checkout, (edits += 1));
    const warmRun = make({ ...withoutCache, CI: 'true', DAEMON_SRC: checkout, MOBY_MAKE_BUNDLES: join(work, 'warm') }, only);
    if (!warmRun.ok) throw new Error(`the warm rebuild failed:\n${warmRun.output.slice(-2000)}`);
    warm.push(warmRun.wall);
    // A fresh machine (empty GOCACHE, bundles, tools cache; the module cache kept) with another edit, through the registry's Go cache.
    editDaemon(checkout, (edits += 1));
    const fresh = freshMachine(work, true);
    const remoteRun = make({ ...fresh.env, ...registry.env(), DAEMON_SRC: checkout }, only);
    counts =
      /moby-make go cache: .*/.exec(readFileSync(join(fresh.env.MOBY_MAKE_BUNDLES as string, 'logs', 'daemon.log'), 'utf8'))?.[0] ??
      `no go cache line; make said: ${
        remoteRun.output
          .split('\n')
          .filter((line) => /warning|note/.test(line))
          .join(' | ') || 'nothing about the cache'
      }`;
    if (!remoteRun.ok) throw new Error(`the fresh machine's build failed:\n${remoteRun.output.slice(-2000)}`);
    remote.push(remoteRun.wall);
  }
  const createsAfter = createMicroseconds(join(work, 'creates-after'));
  console.log(
    `  creating a file in this filesystem            ${creates.toFixed(0)} µs before the rounds, ${createsAfter.toFixed(0)} µs after (a fresh machine's edit creates ~7600)`,
  );
  console.log(`  DAEMON_SRC one-line edit, warm local GOCACHE   ${median(warm).toFixed(1)} s`);
  console.log(
    `  DAEMON_SRC one-line edit, fresh machine        ${median(remote).toFixed(1)} s  (${(median(remote) / median(warm)).toFixed(2)}x warm, target 2x; median of ${rounds}, alternating; last: ${counts})`,
  );
}
