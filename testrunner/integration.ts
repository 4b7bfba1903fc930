import type { RemoteImages } from '../core/remote-images.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Listener } from '../core/events.js';
import { CLIENT_BUNDLE } from '../core/bundle-layout.js';
import { DEV_CLI } from './dev-container/layout.js';
import { planDevContainer, type Clients } from './dev-container/plan.js';
import type { FrozenImageEvent } from './frozen-images/index.js';
import type { Env } from '../core/env.js';
import { compileTestBinary, takePrebuilt } from './compile.js';
import type { InsideConfig } from './inside.js';
import type { IntegrationOptions } from './options.js';
import { INTEGRATION_CLI_DIR, junitPackageName, planSuites, reportStem } from './packages.js';
import type { PackageRun } from './run-package.js';
import { mobyTestEnv } from './test-env.js';
import { TEST_REGISTRY } from './toolchain.js';
import { DELVE, installGoTool } from '../core/go-tools.js';
import type { SuiteContext } from './context.js';
import { UserError } from '../core/errors.js';
import { checkModeHere } from './mode-checks.js';
import { modeDaemonArgs, modeSummary, modeTestEnv } from './modes.js';
import { declaredTests, recordedSeconds, splitIntoShards, unitName, type Shard, type WorkUnit } from './shards.js';

/** The dev stage's account that moby's rootless test daemon (and internal/testutil's) runs as. */
export const ROOTLESS_TEST_USER = 'unprivilegeduser';

/** integration-cli runs with TIMEOUT=360m in moby, whatever TIMEOUT says. */
const CLI_TIMEOUT = '360m';

export interface IntegrationContext extends SuiteContext {
  options: IntegrationOptions;
  /** With DELVE_PORT: the unix socket delve's API listens on, for each package in turn. */
  debuggerSocket: string;
  /** The test daemon of a lane (undefined: the run has one lane). */
  daemonFor: (job: number | undefined) => { stateDir: string; socket: string; execRoot: string };
  /** The docker CLIs the dev container has (findClients). */
  clients: Clients;
  /** Frozen images made for /docker-frozen-images, reported as they are made. */
  onFrozenImage: Listener<FrozenImageEvent>;
  /** The shared cache, when one is configured: frozen images are taken from it instead of made. */
  remoteImages?: RemoteImages;
  signal?: AbortSignal;
}

/** One lane of a run: its namespaces, its test daemon, its DEST; without --jobs there is one. */
export interface PreparedJob {
  /** --jobs: 1..N; absent for a run of one lane. */
  job?: number;
  /** moby's DEST on the host for this lane (the tests' daemons keep their data and logs there). */
  destDir: string;
  /** The daemon's exec-root, bound at /run/docker in the namespace (not for a rootless daemon). */
  execRoot: string;
  config: InsideConfig;
}

export interface PreparedRun {
  jobs: PreparedJob[];
  notes: string[];
}

/** dockerd's flags in hack/make/.integration-daemon-start, with the mode's (modes.ts). */
export function integrationDaemonArgs(options: IntegrationOptions): string[] {
  return [
    '--debug',
    '--storage-driver',
    options.graphDriver,
    `--userland-proxy=${options.userlandProxy}`,
    ...(options.experimental ? ['--experimental'] : []),
    ...modeDaemonArgs(options.mode),
  ];
}

/** moby's flags for run_test_integration_suites; TESTFLAGS_INTEGRATION(_CLI) after TESTFLAGS, for their suite only. */
export function integrationTestFlags(options: IntegrationOptions, dir: string, testFlags = options.testFlags): string[] {
  const cli = dir === INTEGRATION_CLI_DIR;
  const suiteFlags = cli ? options.suiteTestFlags.integrationCli : options.suiteTestFlags.integration;
  const flags = ['-test.v', `-test.timeout=${cli ? CLI_TIMEOUT : options.timeout}`, ...testFlags, ...suiteFlags];
  if (options.filter !== undefined) flags.push('-test.run', cli ? `/${options.filter}` : options.filter);
  return flags;
}

/**
 * Everything outside the namespaces: which packages, their test binaries
 * (compiled before the daemon starts, as moby's build_test_suite_binaries),
 * the results folder emptied, and the inside's configuration.
 */
export async function prepareIntegration(context: IntegrationContext): Promise<PreparedRun> {
  const { options, source, go, resultsDir, onEvent } = context;
  const tools = join(context.cacheDir, 'tools');
  const debug = options.debugListen
    ? { dlv: await installGoTool(DELVE, tools, context.env, context.signal), socket: context.debuggerSocket, listen: options.debugListen }
    : undefined;
  const work = await planIntegrationWork(options, context);
  const notes = [...work.notes];
  await checkModeHere(options.mode, options.graphDriver);
  onEvent({ type: 'step', text: notes[0] ?? '' });
  for (const note of notes.slice(1)) {
    const [suite = '', reason = ''] = note.split(/: (.*)/s);
    onEvent({ type: 'suite-skipped', suite, reason });
  }
  let units = work.units;
  if (options.shard) {
    const shard = splitIntoShards(units, options.shard.count, work.entryPoints)[options.shard.index - 1];
    units = shard?.units ?? [];
    const note = `shard ${options.shard.index}/${options.shard.count}: ${units.length} of ${work.units.length} packages and suites (${shardBasis(shard)})`;
    onEvent({ type: 'step', text: note });
    notes.push(note);
  }
  if (units.length === 0) return { notes, jobs: [] };
  // Before anything is compiled: a package apt cannot find is an error now, not after ten minutes of compiling.
  const devContainer = await planDevContainer({
    source,
    cacheDir: context.cacheDir,
    env: context.env,
    gopath: go.gopath,
    resultsDir,
    resultsName: basename(resultsDir),
    clients: context.clients,
    bundlesDir: context.bundlesDir,
    frozenImages: { onEvent: context.onFrozenImage, ...(context.remoteImages ? { remote: context.remoteImages } : {}) },
    onStep: (text) => onEvent({ type: 'step', text }),
    signal: context.signal ?? new AbortController().signal,
    rootless: options.mode.rootless,
    cliPlugins: units.some((unit) => unit.dir === './integration-cli'),
  });
  for (const note of devContainer.notes) onEvent({ type: 'step', text: note });
  notes.push(...devContainer.notes);

  await rm(resultsDir, { recursive: true, force: true });
  const binaries = new Map<string, string>();
  const dirs = [...new Set(units.map((unit) => unit.dir))];
  for (const [index, dir] of dirs.entries()) {
    const began = performance.now();
    const outDir = join(resultsDir, 'bin', reportStem(junitPackageName(dir, go.goarch)));
    const binary =
      (debug === undefined ? await takePrebuilt(context.env, reportStem(junitPackageName(dir, go.goarch)), outDir) : undefined) ??
      (await compileTestBinary(source.dir, dir, outDir, context.env, {
        ...(context.signal ? { signal: context.signal } : {}),
        forDebugger: debug !== undefined,
        coverage: options.coverage,
      }));
    onEvent({ type: 'compiled', dir, seconds: (performance.now() - began) / 1000, index: index + 1, total: dirs.length });
    binaries.set(dir, binary);
  }
  onEvent({ type: 'step', text: `checking the test registry (${TEST_REGISTRY.pkg}@${TEST_REGISTRY.version})` });
  const registry = await installGoTool(TEST_REGISTRY, tools, context.env, context.signal);

  // --jobs: the units split as shards are, each lane with its own namespaces, daemon and DEST; the reports all in resultsDir.
  const lanes = options.jobs > 1 ? splitIntoShards(units, options.jobs).filter((shard) => shard.units.length > 0) : [{ units, index: 1 }];
  const jobs: PreparedJob[] = [];
  for (const lane of lanes) {
    const job = lanes.length > 1 ? lane.index : undefined;
    const destDir = job === undefined ? resultsDir : join(resultsDir, `job-${job}`);
    await mkdir(join(destDir, 'fake-HOME'), { recursive: true });
    const daemon = context.daemonFor(job);
    const runs = unitRuns(lane.units, { options, go, resultsDir, binaries, sourceDir: devContainer.sourceDir, debug, suiteFlags: work.suiteFlags });
    const testEnv = mobyTestEnv({
      env: context.env,
      dest: devContainer.dest,
      dockerHost: `unix://${daemon.socket}`,
      bundleDir: context.bundleDir,
      ...(context.clients.cliDir ? { cliDir: DEV_CLI } : {}),
      goBinary: go.goBinary,
      tools: [registry],
      gocache: go.gocache,
      gopath: go.gopath,
      graphDriver: options.graphDriver,
      userlandProxy: options.userlandProxy,
      modeEnv: modeTestEnv(options.mode),
      ...(devContainer.testClientBinary ? { clientBinary: devContainer.testClientBinary } : {}),
    });
    if (options.testDebug) {
      for (const run of runs) onEvent({ type: 'step', text: `+ ${job ? `[job ${job}] ` : ''}cd ${run.cwd} && gotestsum ${run.command.join(' ')}` });
    }
    jobs.push({
      ...(job !== undefined ? { job } : {}),
      destDir,
      execRoot: daemon.execRoot,
      config: {
        bundlesDir: context.bundlesDir,
        cacheDir: context.cacheDir,
        gotestsum: go.gotestsum,
        daemon: {
          stateDir: daemon.stateDir,
          logFile: join(destDir, 'docker.log'),
          dockerdArgs: integrationDaemonArgs(options),
          ...(options.mode.rootless ? { rootlessUser: ROOTLESS_TEST_USER } : {}),
          // .integration-daemon-start: dockerd with nftables does not turn forwarding on itself.
          sysctls: options.mode.firewallBackend === 'nftables' ? ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'] : [],
        },
        runs,
        failFast: options.failFast,
        testEnv,
        devContainer: devContainer.steps.map((step) => (step.kind === 'bind' && step.target === devContainer.dest ? { ...step, source: destDir } : step)),
        ...(debug ? { debugger: { socket: debug.socket, listen: debug.listen } } : {}),
      },
    });
  }
  return { notes, jobs };
}

function shardBasis(shard: Shard | undefined): string {
  if (shard?.seconds !== undefined) return `about ${(shard.seconds / 60).toFixed(1)} min by earlier runs' reports`;
  return `${shard?.tests ?? 0} tests, split by test count; a run's reports make the next split by time`;
}

/** The packages and suites a run could run, before any shard is picked: the same for every shard of a matrix. */
export interface IntegrationWork {
  units: WorkUnit[];
  /** The mode first, then why a suite does not run. */
  notes: string[];
  /** integration-cli's Test*Suite entry points among the units (gotestlist counts them as tests). */
  entryPoints: number;
  /** TESTFLAGS without the `-test.run (Suites)/` that picked the suites, for each suite's own run. */
  suiteFlags: string[];
}

export async function planIntegrationWork(
  options: IntegrationOptions,
  context: Pick<IntegrationContext, 'source' | 'env' | 'clients' | 'go' | 'bundlesDir'>,
): Promise<IntegrationWork> {
  const sourceDir = context.source.dir;
  const plan = await planSuites(options, sourceDir, context.env);
  const notes = [modeSummary(options.mode, options.graphDriver, options.experimental), ...plan.notes];
  const units: WorkUnit[] = plan.integrationDirs.map((dir) => ({ dir, tests: declaredTests(join(sourceDir, dir)).topLevel.length }));
  let entryPoints = 0;
  let suiteFlags = options.testFlags;
  if (plan.runIntegrationCli && options.mode.rootless) {
    // .integration-daemon-start refuses it: integration-cli's tests assume a rootful daemon.
    if (options.dirs?.includes(INTEGRATION_CLI_DIR)) {
      throw new UserError('DOCKER_ROOTLESS: moby runs integration-cli only against a rootful daemon', 'Leave ./integration-cli out of a rootless run.');
    }
    notes.push('integration-cli: skipped (DOCKER_ROOTLESS: moby runs it only against a rootful daemon)');
  } else if (plan.runIntegrationCli && !context.clients.integrationCli) {
    notes.push(`integration-cli: skipped: no docker CLI (set TEST_CLIENT_BINARY, or build it: npm run make -- --only ${CLI_INTEGRATION_COMPONENT})`);
  } else if (plan.runIntegrationCli) {
    const declared = declaredTests(join(sourceDir, INTEGRATION_CLI_DIR));
    const split = suiteSplit(options, sourceDir);
    const methods = (suite: string) => declared.bySuite.get(suite.replace(/^Test/, '')) ?? 0;
    if (split) {
      units.push(...split.suites.map((suite) => ({ dir: INTEGRATION_CLI_DIR, suite, tests: methods(suite) })));
      entryPoints = split.suites.length;
      suiteFlags = split.otherFlags;
    } else {
      units.push({ dir: INTEGRATION_CLI_DIR, tests: [...declared.bySuite.values()].reduce((a, b) => a + b, declared.topLevel.length) });
    }
  }
  const seconds = recordedSeconds(modeResultsDirs(context.bundlesDir, options), (dir) => junitPackageName(dir, context.go.goarch), units);
  for (const unit of units) {
    const recorded = seconds.get(unitName(unit));
    if (recorded !== undefined) unit.seconds = recorded;
  }
  return { units, notes, entryPoints, suiteFlags };
}

/** Where earlier runs of the same mode kept their reports: its own folder and its shards'. */
function modeResultsDirs(bundlesDir: string, options: IntegrationOptions): string[] {
  const own = integrationResultsName({ mode: options.mode, shard: undefined });
  if (!existsSync(bundlesDir)) return [];
  return readdirSync(bundlesDir)
    .filter((name) => name === own || new RegExp(`^${own}-shard-\\d+-of-\\d+$`).test(name))
    .map((name) => join(bundlesDir, name));
}

interface RunInputs {
  options: IntegrationOptions;
  go: IntegrationContext['go'];
  resultsDir: string;
  binaries: ReadonlyMap<string, string>;
  /** The tree as the tests see it (/usr/src/moby), for each run's folder. */
  sourceDir: string;
  suiteFlags: string[];
  debug: { dlv: string; socket: string } | undefined;
}

/** One gotestsum run per unit (TEST_REPEAT runs the list again, as moby's repeat(); each round keeps its own reports). */
function unitRuns(units: readonly WorkUnit[], inputs: RunInputs): PackageRun[] {
  const { options, go, resultsDir, debug } = inputs;
  const otherFlags = inputs.suiteFlags;
  const runs: PackageRun[] = [];
  for (let round = 1; round <= options.repeat; round += 1) {
    for (const unit of units) {
      const pkgname = junitPackageName(unit.dir, go.goarch);
      const stem = unit.suite ? `${reportStem(pkgname)}-${unit.suite}` : reportStem(pkgname);
      const name = options.repeat > 1 ? `${stem}-round-${round}` : stem;
      const binary = inputs.binaries.get(unit.dir) ?? '';
      const flags = [
        ...(unit.suite ? ['-test.run', `(${unit.suite})/`, ...integrationTestFlags(options, unit.dir, otherFlags)] : integrationTestFlags(options, unit.dir)),
        ...(options.coverage ? [`-test.coverprofile=${join(resultsDir, `${name}-coverage.out`)}`] : []),
      ];
      const label = unitName(unit);
      runs.push({
        dir: options.repeat > 1 ? `${label} (round ${round}/${options.repeat})` : label,
        cwd: join(inputs.sourceDir, unit.dir),
        command: ['--raw-command', '--', 'go', 'tool', 'test2json', '-p', pkgname, '-t', ...(debug ? underDelve(debug, binary) : [binary]), ...flags],
        jsonFile: join(resultsDir, `${name}-go-test-report.json`),
        junitFile: join(resultsDir, `${name}-junit-report.xml`),
        index: runs.length + 1,
        total: units.length * options.repeat,
      });
    }
  }
  return runs;
}

/**
 * integration-cli runs one suite per test binary run, as moby CI's shards
 * run it: each suite gets its own reports and row, and a panic —
 * requirements_test.go's Network() panics when Docker Hub does not answer —
 * ends only its own suite. All suites, or those a shard's
 * `-test.run (SuiteA|SuiteB)/` names; not when the caller picks tests otherwise.
 */
export function suiteSplit(options: IntegrationOptions, sourceDir: string): { suites: string[]; otherFlags: string[] } | undefined {
  if (options.filter !== undefined) return undefined;
  const flags = options.testFlags;
  const at = flags.findIndex((flag) => /^-(test\.)?run(=|$)/.test(flag));
  if (at < 0) return { suites: cliSuites(sourceDir), otherFlags: flags };
  const inline = /^-(?:test\.)?run=(.*)$/.exec(flags[at] ?? '');
  const value = inline ? inline[1] : flags[at + 1];
  // moby CI's matrix names suites by their type, as gotestlist does (DockerAPISuite for TestDockerAPISuite).
  const named = /^\((\w+Suite(?:\|\w+Suite)*)\)\/$/.exec(value ?? '');
  if (!named?.[1]) return undefined;
  const known = cliSuites(sourceDir);
  const suites = named[1].split('|').map((name) => (known.includes(name) ? name : `Test${name}`));
  if (suites.some((suite) => !known.includes(suite))) return undefined; // the binary says what it does not know
  return { suites, otherFlags: flags.filter((_, index) => index !== at && (inline || index !== at + 1)) };
}

/** The Test*Suite entry points of integration-cli/check_test.go, in the file's order. */
export function cliSuites(sourceDir: string): string[] {
  const text = readFileSync(join(sourceDir, 'integration-cli', 'check_test.go'), 'utf8');
  return [...text.matchAll(/^func (Test\w+Suite)\(t \*testing\.T\)/gm)].map((match) => match[1] ?? '');
}

/**
 * moby's DELVE_PORT for tests: the binary stopped at its start under a
 * headless delve (API v2) until a client continues it; the client's detach
 * ends delve. The API is a unix socket of root's (see core/debug-forward.ts).
 */
function underDelve(debug: { dlv: string; socket: string }, binary: string): string[] {
  return [debug.dlv, 'exec', '--headless', '--api-version=2', `--listen=unix:${debug.socket}`, binary, '--'];
}

/** bundles/test-integration, or -<mode> and -shard-I-of-N beside it, so modes and shards keep their reports apart. */
export function integrationResultsName(options: Pick<IntegrationOptions, 'mode' | 'shard'>): string {
  const mode = options.mode.name === 'default' ? '' : `-${options.mode.name}`;
  const shard = options.shard ? `-shard-${options.shard.index}-of-${options.shard.count}` : '';
  return `test-integration${mode}${shard}`;
}

/** The component that builds DOCKERCLI_INTEGRATION_VERSION's client, and its bundle. */
export const CLI_INTEGRATION_COMPONENT = 'cli-integration';
const CLI_INTEGRATION_BUNDLE = 'binary-cli-integration';

/**
 * The dev container's two clients: the bundle's (/usr/local/cli, first on
 * PATH) and integration-cli's TEST_CLIENT_BINARY — the caller's when set,
 * else the bundle of DOCKERCLI_INTEGRATION_VERSION (/usr/local/cli-integration),
 * else the bundle's client, which the run then says.
 */
export function findClients(env: Env, bundlesDir: string): Clients {
  const inBundle = (bundle: string) => (existsSync(join(bundlesDir, bundle, 'docker')) ? join(bundlesDir, bundle) : undefined);
  const cliDir = inBundle(CLIENT_BUNDLE);
  if (env.TEST_CLIENT_BINARY) return { ...(cliDir ? { cliDir } : {}), integrationCli: { binary: env.TEST_CLIENT_BINARY, ownBundle: false } };
  const integrationDir = inBundle(CLI_INTEGRATION_BUNDLE) ?? cliDir;
  return {
    ...(cliDir ? { cliDir } : {}),
    ...(integrationDir ? { integrationCli: { binary: join(integrationDir, 'docker'), ownBundle: integrationDir !== cliDir } } : {}),
  };
}
