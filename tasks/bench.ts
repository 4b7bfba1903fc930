import { nextSteps } from './cli/commands.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createMD5, createSHA256 } from 'hash-wasm';
import { createReadStream } from 'node:fs';
import { measureStartup } from '../devdaemon/measure.js';
import { measureRootlessStartup } from '../devdaemon/rootless/measure.js';
import { digestFile } from '../core/hashing.js';
import { median } from '../core/stats.js';
import { runMain } from './cli/run-main.js';
import { addCounts, emptyCounts } from '../testrunner/events.js';
import { parseEventLine } from '../testrunner/inside.js';
import { loopRatios, measureLoop } from './lib/loop-bench.js';
import { benchCache, benchCacheEdit, benchCacheFetch, benchCacheImages } from './lib/cache-bench.js';
import { benchCrossCold } from './lib/cross-bench.js';
import { benchImage } from './lib/image-bench.js';
import { defaultBundlesDir, defaultCacheDir, projectRoot, taskArgv } from './paths.js';
import { bundlePaths } from '../core/bundle-layout.js';
import { resolveDaemonSource } from '../core/daemon-source.js';
import { installGoTool } from '../core/go-tools.js';
import { readManifest } from '../core/manifest.js';
import { quoteShellWord, shellCommand } from '../core/shell-quote.js';
import { GOLANGCI_LINT, golangciLintArgs, golangciLintEnv, lintedModules } from '../validate/golangci-lint.js';

/**
 * Every number is measured in this one run and compared with its baseline from
 * the same run, so the ratios hold even on a noisy machine. Medians throughout.
 */
const HELP = `Usage: npm run bench -- [--runs N] [--skip-cold] [--skip-loop] [--skip-jobs] [--only-jobs] [--jobs-runs N]
                         [--skip-validate] [--only-validate] [--validate-runs N]
                         [--skip-cache] [--only-cache] [--only-cache-fetch] [--only-cache-images] [--only-cache-edit] [--cache-runs N] [--skip-cross] [--only-cross] [--cross-runs N]
                         [--skip-image] [--only-image] [--image-runs N] [--only-start]

  --runs N      repetitions for the quick measurements (default 5)
  --skip-cold   leave out the cold build of every component (it takes minutes)
  --skip-loop   leave out the contributor loop (dev-daemon --watch against go build)
  --skip-jobs   leave out test-integration --jobs 2 against serial (five packages, ~15 min a round)
  --only-jobs   only that
  --jobs-runs N its rounds (default 1)
  --skip-validate    leave out validate: warm golangci-lint against it run by hand, cold, make validate
  --only-validate    only that
  --validate-runs N  rounds of the warm comparison (default 3)
  --skip-cache       leave out the shared cache: a fresh machine's make from a loopback
                     registry against curl, and a DAEMON_SRC edit through its Go cache
  --only-cache       only that
  --only-cache-fetch   only its bundle: a fresh machine's make against curl, and its start before the first fetch
  --only-cache-images  only its frozen images: a fresh machine's frozen-images --no-load against curl
  --only-cache-edit    only its DAEMON_SRC edit: a fresh machine through the Go cache against a warm one
  --skip-cross       leave out the cross builds: a no-op make of every platform built so far,
                     and a cold linux/arm64 build of the Go components against their go build
                     commands run by hand (~10 min a round)
  --only-cross       only that
  --cross-runs N     rounds of the cold cross build, alternating which side goes first (default 2)
  --cache-runs N     rounds of the fetch and edit comparisons (default 3)
  --skip-image       leave out the image: npm run image after a dockerd relink and with nothing
                     changed, and the boot to /_ping under QEMU against the dev daemon's start
  --only-image       only that
  --image-runs N     rounds of each (default 3)
  --only-start       only the commands' start: help and a no-op make as the launcher runs them,
                     against the same through tsx's loader and against node doing nothing`;

/**
 * How long a command takes to start: from the launcher's compiled modules
 * against tsx's loader (how the commands ran before it) and node alone, in
 * alternating rounds.
 */
function benchStart(runs: number): number {
  const env = { ...process.env, CI: 'true' };
  const seconds =
    ([command, ...args]: readonly [string, ...string[]]) =>
    (): number => {
      const start = process.hrtime.bigint();
      execFileSync(command, args, { env, stdio: 'ignore' });
      return Number(process.hrtime.bigint() - start) / 1e9;
    };
  const throughTsx = (task: string): [string, ...string[]] => [process.execPath, '--import', 'tsx', join(projectRoot, 'tasks', `${task}.ts`)];
  const sides = {
    node: seconds([process.execPath, '-e', '0']),
    help: seconds(taskArgv('help')),
    helpTsx: seconds(throughTsx('help')),
    noop: seconds(taskArgv('make')),
    noopTsx: seconds(throughTsx('make')),
  };
  const samples = new Map<keyof typeof sides, number[]>();
  for (let round = 0; round < runs; round += 1) {
    for (const [name, measure] of Object.entries(sides) as [keyof typeof sides, () => number][]) samples.set(name, [...(samples.get(name) ?? []), measure()]);
  }
  const of = (name: keyof typeof sides) => median(samples.get(name) ?? []);
  const pair = (launched: keyof typeof sides, tsx: keyof typeof sides) =>
    `${of(launched).toFixed(3)} s / ${of(tsx).toFixed(3)} s  (${(of(tsx) / of(launched)).toFixed(2)}x)`;
  console.log(`\ncommands' start (median of ${runs}, alternating; the launcher's generation is current)`);
  console.log(`  node -e 0                               ${of('node').toFixed(3)} s`);
  console.log(`  npm run help, launcher / tsx's loader   ${pair('help', 'helpTsx')}`);
  console.log(`  no-op make, launcher / tsx's loader     ${pair('noop', 'noopTsx')}`);
  return 0;
}

async function timed(action: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await action();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function repeat(runs: number, action: () => unknown): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i += 1) samples.push(await timed(action));
  return median(samples);
}

async function hashWasmBoth(path: string): Promise<void> {
  const md5 = await createMD5();
  const sha256 = await createSHA256();
  md5.init();
  sha256.init();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    md5.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
  }
  md5.digest();
  sha256.digest();
}

/** A command's wall time and the CPU time of it and all its children, from GNU time. */
function measureCommand(argv: string[], env: NodeJS.ProcessEnv): { wall: number; cpu: number; ok: boolean } {
  const result = spawnSync('/usr/bin/time', ['-f', 'BENCH %e %U %S', ...argv], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
  const match = /BENCH ([\d.]+) ([\d.]+) ([\d.]+)/.exec(result.stderr);
  if (!match) throw new Error(`could not time ${argv.join(' ')}: ${result.stderr.slice(-500)}`);
  return { wall: Number(match[1]), cpu: Number(match[2]) + Number(match[3]), ok: result.status === 0 };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      'skip-cold': { type: 'boolean', default: false },
      'skip-loop': { type: 'boolean', default: false },
      'skip-jobs': { type: 'boolean', default: false },
      'only-jobs': { type: 'boolean', default: false },
      'jobs-runs': { type: 'string', default: '1' },
      'skip-validate': { type: 'boolean', default: false },
      'only-validate': { type: 'boolean', default: false },
      'validate-runs': { type: 'string', default: '3' },
      'skip-cache': { type: 'boolean', default: false },
      'only-cache': { type: 'boolean', default: false },
      'cache-runs': { type: 'string', default: '3' },
      'only-cache-fetch': { type: 'boolean', default: false },
      'only-cache-images': { type: 'boolean', default: false },
      'only-cache-edit': { type: 'boolean', default: false },
      'skip-cross': { type: 'boolean', default: false },
      'only-cross': { type: 'boolean', default: false },
      'cross-runs': { type: 'string', default: '2' },
      'only-start': { type: 'boolean', default: false },
      'skip-image': { type: 'boolean', default: false },
      'only-image': { type: 'boolean', default: false },
      'image-runs': { type: 'string', default: '3' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP + nextSteps('bench'));
    return 0;
  }
  const runs = Number(values.runs);
  if (values['only-jobs']) return benchJobs(Number(values['jobs-runs']));
  if (values['only-validate']) return benchValidate(Number(values['validate-runs']));
  if (values['only-cache-fetch']) return benchCacheFetch(Number(values['cache-runs']));
  if (values['only-cache-images']) return benchCacheImages(Number(values['cache-runs']));
  if (values['only-cache-edit']) return benchCacheEdit(Number(values['cache-runs']));
  if (values['only-cache']) return benchCache(Number(values['cache-runs']));
  if (values['only-image']) return benchImage(Number(values['image-runs']));
  if (values['only-start']) return benchStart(runs);
  if (values['only-cross']) return benchCrossNoop(runs) || benchCrossCold(Number(values['cross-runs']));
  const bundle = join(defaultBundlesDir(process.env), 'binary-daemon');
  const files = readdirSync(bundle)
    .filter((f) => !f.endsWith('.md5') && !f.endsWith('.sha256'))
    .map((f) => join(bundle, f));
  const megabytes = files.reduce((sum, f) => sum + statSync(f).size, 0) / 1e6;

  console.log(`hashing ${files.length} bundle files, ${megabytes.toFixed(0)} MB (median of ${runs})`);
  const coreutils = await repeat(runs, () => {
    execFileSync('md5sum', files);
    execFileSync('sha256sum', files);
  });
  const ours = await repeat(runs, () => Promise.all(files.map((f) => digestFile(f))));
  const wasmMd5 = await repeat(runs, () => Promise.all(files.map((f) => digestFile(f, 'hash-wasm'))));
  const wasmOnly = await repeat(runs, () => Promise.all(files.map(hashWasmBoth)));
  console.log(`  md5sum + sha256sum (coreutils)          ${coreutils.toFixed(3)} s`);
  console.log(`  node:crypto md5 + sha256, worker threads ${ours.toFixed(3)} s  (${(coreutils / ours).toFixed(2)}x coreutils)`);
  console.log(
    `  hash-wasm md5 + node:crypto sha256      ${wasmMd5.toFixed(3)} s  (${(coreutils / wasmMd5).toFixed(2)}x coreutils; FIPS fallback: md5 on the main thread)`,
  );
  console.log(`  hash-wasm md5 + sha256                  ${wasmOnly.toFixed(3)} s  (${(coreutils / wasmOnly).toFixed(2)}x coreutils)`);

  benchStart(runs);

  console.log(`\ndev daemon start to API ready, against the bundled dockerd started directly with the same flags (median of ${runs})`);
  const startup = await measureStartup({ bundlesDir: defaultBundlesDir(process.env), rounds: runs, dockerdArgs: ['--experimental'] });
  console.log(`  raw dockerd                             ${startup.medianRawDockerd.toFixed(3)} s`);
  console.log(
    `  npm run dev-daemon (checks included)    ${startup.medianDevDaemon.toFixed(3)} s  (${startup.overheadSeconds >= 0 ? '+' : ''}${startup.overheadSeconds.toFixed(3)} s)`,
  );

  console.log(`\nrootless dev daemon start to API ready, per rootlesskit network driver (median of ${runs})`);
  for (const network of ['slirp4netns', 'gvisor-tap-vsock']) {
    const rootless = await measureRootlessStartup(defaultBundlesDir(process.env), network, runs, process.env);
    console.log(`  npm run dev-daemon -- --rootless, ${network.padEnd(17)}${rootless.median.toFixed(3)} s`);
  }

  if (!values['skip-loop']) {
    for (const dynamic of [false, true]) {
      console.log(
        `\ncontributor loop on moby's source, ${dynamic ? 'dynamic (--dynamic)' : 'static'} dockerd: an edit of daemon/info.go each round (median of ${runs}, alternating)`,
      );
      const loop = await measureLoop({ bundlesDir: defaultBundlesDir(process.env), runs, dynamic, env: process.env, log: (line) => console.log(line) });
      const ratios = loopRatios(loop);
      console.log(`  plain go build of dockerd, same flags    ${median(loop.goBuildSeconds).toFixed(3)} s`);
      console.log(`  dev-daemon --watch rebuild, new dockerd  ${median(loop.rebuildSeconds).toFixed(3)} s  (${ratios.rebuild.toFixed(3)}x go build)`);
      console.log(
        `    of which outside its own go build      ${median(loop.overheadSeconds).toFixed(3)} s  (planning, hashing, publishing: ${((100 * median(loop.overheadSeconds)) / median(loop.goBuildSeconds)).toFixed(1)}% of the plain go build)`,
      );
      if (loop.rest.length > 0) console.log(`  then ${loop.rest.join(', ')} (after the restart) ${median(loop.restSeconds).toFixed(3)} s`);
      console.log(`  go build + dockerd restarted by hand     ${median(loop.byHandPingSeconds).toFixed(3)} s  (edit to /_ping)`);
      console.log(
        `  dev-daemon --watch, edit to /_ping       ${median(loop.watchPingSeconds).toFixed(3)} s  (${ratios.ping.toFixed(3)}x, ${ratios.pingExtra >= 0 ? '+' : ''}${ratios.pingExtra.toFixed(3)} s)`,
      );
    }
  }

  if (!values['skip-cold']) {
    const scratch = join(projectRoot, 'bundles', '.bench');
    rmSync(scratch, { recursive: true, force: true });
    console.log('\ncold make of every component: empty bundle and empty Go build cache (modules already downloaded)');
    const cold = measureCommand(taskArgv('make', '--bundles', join(scratch, 'bundles')), {
      ...process.env,
      CI: 'true',
      GOCACHE: join(scratch, 'gocache'),
    });
    const cores = availableParallelism();
    console.log(
      `  wall ${cold.wall.toFixed(1)} s, CPU ${cold.cpu.toFixed(1)} s, utilization ${(cold.cpu / (cores * cold.wall)).toFixed(2)} of ${cores} cores${cold.ok ? '' : ' (BUILD FAILED)'}`,
    );
    rmSync(scratch, { recursive: true, force: true });
  }
  if (!values['skip-jobs']) benchJobs(Number(values['jobs-runs']));
  if (!values['skip-validate']) await benchValidate(Number(values['validate-runs']));
  if (!values['skip-cache']) await benchCache(Number(values['cache-runs']));
  if (!values['skip-cross']) {
    benchCrossNoop(runs);
    benchCrossCold(Number(values['cross-runs']));
  }
  if (!values['skip-image']) await benchImage(Number(values['image-runs']));
  return 0;
}

/** A no-op `make --platform` of every platform built so far (bundles/cross/*) and this machine's, against the host's no-op make alone. */
function benchCrossNoop(runs: number): number {
  const crossRoot = join(defaultBundlesDir(process.env), 'cross');
  const built = existsSync(crossRoot)
    ? readdirSync(crossRoot).map((dir) =>
        dir.replace(/^(\w+)-(\w+)(?:-(v\d))?$/, (_, os: string, arch: string, variant?: string) => [os, arch, variant].filter(Boolean).join('/')),
      )
    : [];
  if (built.length === 0) {
    console.log('\nno cross bundle to rerun: build one first (npm run make -- --platform linux/arm64)');
    return 1;
  }
  const env = { ...process.env, CI: 'true' };
  console.log(`\nno-op make --platform local,${built.join(',')} (median of ${runs}, alternating with the host's alone)`);
  const hostOnly: number[] = [];
  const all: number[] = [];
  for (let round = 0; round < runs; round++) {
    hostOnly.push(measureCommand(taskArgv('make'), env).wall);
    all.push(measureCommand(taskArgv('make', '--platform', ['local', ...built].join(',')), env).wall);
  }
  console.log(`  npm run make, this machine only         ${median(hostOnly).toFixed(3)} s`);
  console.log(`  npm run make -- --platform (${built.length + 1} platforms)  ${median(all).toFixed(3)} s  (target: under 2 s)`);
  return 0;
}

/** `npm run validate` as a user runs it: its wall time, and the seconds each check reported in report.json. */
function timedValidate(checks: string[], env: NodeJS.ProcessEnv): { wall: number; cpu: number; ok: boolean; checkSeconds: Record<string, number> } {
  const timing = measureCommand(taskArgv('validate', '--output', 'plain', ...checks), env);
  const report = JSON.parse(readFileSync(join(defaultBundlesDir(env), 'validate', 'report.json'), 'utf8')) as { results: { check: string; seconds: number }[] };
  return { ...timing, checkSeconds: Object.fromEntries(report.results.map(({ check, seconds }) => [check, seconds])) };
}

/**
 * validate's golangci-lint against golangci-lint run by hand with the same
 * binary, arguments, environment and cache, alternating, both warm; then
 * one cold run (an empty lint cache), and make validate's checks side by side.
 */
async function benchValidate(rounds: number): Promise<number> {
  const env = { ...process.env, CI: 'true' };
  const cacheDir = defaultCacheDir(env);
  const source = await resolveDaemonSource(readManifest(bundlePaths(defaultBundlesDir(env)).current), env, cacheDir);
  const binary = await installGoTool(GOLANGCI_LINT, join(cacheDir, 'tools'), env);
  const modules = await lintedModules(source.dir);
  const args = await golangciLintArgs(source.dir, env);
  const byHand = () =>
    measureCommand(
      ['sh', '-c', modules.map((module) => `cd ${quoteShellWord(join(source.dir, module))} && ${shellCommand([binary, ...args])} >/dev/null`).join(' && ')],
      golangciLintEnv(env, cacheDir),
    );
  console.log(`\nvalidate on ${source.kind} ${source.version}: golangci-lint ${GOLANGCI_LINT.version} over ${modules.length} module(s)`);
  const warmUp = timedValidate(['golangci-lint'], env);
  console.log(`  first run (warms the lint cache)        ${warmUp.wall.toFixed(1)} s${warmUp.ok ? '' : ' (FAILED)'}`);
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    theirs.push(byHand().wall);
    ours.push(timedValidate(['golangci-lint'], env).wall);
  }
  console.log(`  golangci-lint by hand, warm             ${median(theirs).toFixed(2)} s`);
  console.log(
    `  npm run validate -- golangci-lint, warm ${median(ours).toFixed(2)} s  (${(median(ours) / median(theirs)).toFixed(3)}x by hand; median of ${rounds}, alternating)`,
  );

  const coldCache = join(projectRoot, 'bundles', '.bench-lint-cache');
  rmSync(coldCache, { recursive: true, force: true });
  const cold = timedValidate(['golangci-lint'], { ...env, GOLANGCI_LINT_CACHE: coldCache });
  rmSync(coldCache, { recursive: true, force: true });
  const cores = availableParallelism();
  console.log(
    `  cold (empty lint cache)                 ${cold.wall.toFixed(1)} s wall, CPU ${cold.cpu.toFixed(1)} s (${(cold.cpu / (cores * cold.wall)).toFixed(2)} of ${cores} cores)${cold.ok ? '' : ' (FAILED)'}`,
  );

  const all = timedValidate([], env);
  const sum = Object.values(all.checkSeconds).reduce((total, seconds) => total + seconds, 0);
  const each = Object.entries(all.checkSeconds)
    .map(([check, seconds]) => `${check} ${seconds.toFixed(1)}`)
    .join(', ');
  console.log(
    `  npm run validate (make validate), warm  ${all.wall.toFixed(1)} s wall; the checks' own ${sum.toFixed(1)} s side by side (${each})${all.ok ? '' : ' (FAILED)'}`,
  );
  return 0;
}

/** The five integration packages measured first, which CI's own integration job also runs. */
const JOBS_PACKAGES = ['./integration/container', './integration/image', './integration/network', './integration/system', './integration/volume'];

/** One test-integration run, timed, with the counts of its summary event. */
function timedTestRun(jobs: number): { wall: number; passed: number; failed: number } {
  const [command, ...args] = taskArgv('test-integration', '--output', 'json', '--jobs', String(jobs), ...JOBS_PACKAGES);
  const began = performance.now();
  const result = spawnSync(command, args, { env: { ...process.env, CI: 'true' }, encoding: 'utf8', maxBuffer: 1 << 30 });
  const wall = (performance.now() - began) / 1000;
  const summary = result.stdout
    .split('\n')
    .map((line) => parseEventLine(line))
    .find((event) => event?.type === 'summary');
  if (summary?.type !== 'summary') throw new Error(`test-integration --jobs ${jobs} gave no summary: ${result.stderr.slice(-800)}`);
  const counts = summary.packages.reduce((sum, p) => addCounts(sum, p.counts), emptyCounts());
  return { wall, passed: counts.passed, failed: counts.failed };
}

/**
 * --jobs 2 against the same packages one after another, alternating, in one
 * bench run: the serial run goes first, so the parallel one splits by its
 * reports' timings as a second run on any machine would.
 */
function benchJobs(rounds: number): number {
  console.log(`
moby's five main integration packages, --jobs 2 against one after another (median of ${rounds}, alternating)`);
  const serial: number[] = [];
  const parallel: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const one = timedTestRun(1);
    const two = timedTestRun(2);
    serial.push(one.wall);
    parallel.push(two.wall);
    console.log(
      `  round ${round + 1}: serial ${one.wall.toFixed(0)} s (${one.passed} passed, ${one.failed} failed), --jobs 2 ${two.wall.toFixed(0)} s (${two.passed} passed, ${two.failed} failed)`,
    );
  }
  const ratio = median(parallel) / median(serial);
  console.log(`  one after another                       ${median(serial).toFixed(0)} s`);
  console.log(`  --jobs 2                                ${median(parallel).toFixed(0)} s  (${ratio.toFixed(2)}x serial)`);
  return 0;
}

await runMain(main);
