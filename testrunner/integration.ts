import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Listener } from '../core/events.js';
import { CLIENT_BUNDLE } from '../core/bundle-layout.js';
import { DEV_CLI } from './dev-container/layout.js';
import { planDevContainer, type Clients } from './dev-container/plan.js';
import type { FrozenImageEvent } from './frozen-images/index.js';
import type { Env } from '../core/env.js';
import { compileTestBinary } from './compile.js';
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

/** The dev stage's account that moby's rootless test daemon (and internal/testutil's) runs as. */
export const ROOTLESS_TEST_USER = 'unprivilegeduser';

/** integration-cli runs with TIMEOUT=360m in moby, whatever TIMEOUT says. */
const CLI_TIMEOUT = '360m';

export interface IntegrationContext extends SuiteContext {
  options: IntegrationOptions;
  /** With DELVE_PORT: the unix socket delve's API listens on, for each package in turn. */
  debuggerSocket: string;
  daemon: { stateDir: string; socket: string; logFile: string };
  /** The docker CLIs the dev container has (findClients). */
  clients: Clients;
  /** Frozen images made for /docker-frozen-images, reported as they are made. */
  onFrozenImage: Listener<FrozenImageEvent>;
  signal?: AbortSignal;
}

export interface PreparedRun {
  config: InsideConfig;
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
  const plan = await planSuites(options, source.dir, context.env);
  const notes = [modeSummary(options.mode, options.graphDriver, options.experimental), ...plan.notes];
  await checkModeHere(options.mode, options.graphDriver);
  const dirs = [...plan.integrationDirs];
  if (plan.runIntegrationCli && options.mode.rootless) {
    // .integration-daemon-start refuses it: integration-cli's tests assume a rootful daemon.
    if (options.dirs?.includes(INTEGRATION_CLI_DIR)) {
      throw new UserError('DOCKER_ROOTLESS: moby runs integration-cli only against a rootful daemon', 'Leave ./integration-cli out of a rootless run.');
    }
    notes.push('integration-cli: skipped (DOCKER_ROOTLESS: moby runs it only against a rootful daemon)');
  } else if (plan.runIntegrationCli) {
    if (context.clients.integrationCli) dirs.push(INTEGRATION_CLI_DIR);
    else notes.push(`integration-cli: skipped: no docker CLI (set TEST_CLIENT_BINARY, or build it: npm run make -- --only ${CLI_INTEGRATION_COMPONENT})`);
  }
  onEvent({ type: 'step', text: notes[0] ?? '' });
  for (const note of notes.slice(1)) {
    const [suite = '', reason = ''] = note.split(/: (.*)/s);
    onEvent({ type: 'suite-skipped', suite, reason });
  }
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
    frozenImages: context.onFrozenImage,
    onStep: (text) => onEvent({ type: 'step', text }),
    signal: context.signal ?? new AbortController().signal,
    rootless: options.mode.rootless,
  });
  for (const note of devContainer.notes) onEvent({ type: 'step', text: note });
  notes.push(...devContainer.notes);

  await rm(resultsDir, { recursive: true, force: true });
  await mkdir(join(resultsDir, 'fake-HOME'), { recursive: true });
  const compiled: { dir: string; stem: string; binary: string }[] = [];
  for (const [index, dir] of dirs.entries()) {
    const began = performance.now();
    const stem = reportStem(junitPackageName(dir, go.goarch));
    const binary = await compileTestBinary(source.dir, dir, join(resultsDir, 'bin', stem), context.env, {
      ...(context.signal ? { signal: context.signal } : {}),
      forDebugger: debug !== undefined,
      coverage: options.coverage,
    });
    onEvent({ type: 'compiled', dir, seconds: (performance.now() - began) / 1000, index: index + 1, total: dirs.length });
    compiled.push({ dir, stem, binary });
  }
  const parts = compiled.flatMap(({ dir, stem, binary }) => {
    const split = dir === INTEGRATION_CLI_DIR ? suiteSplit(options, source.dir) : undefined;
    if (!split) return [{ dir, pkgDir: dir, stem, binary, flags: integrationTestFlags(options, dir) }];
    return split.suites.map((suite) => ({
      dir: `${dir} ${suite}`,
      pkgDir: dir,
      stem: `${stem}-${suite}`,
      binary,
      flags: ['-test.run', `(${suite})/`, ...integrationTestFlags(options, dir, split.otherFlags)],
    }));
  });
  // TEST_REPEAT runs the whole list again, as moby's repeat(); each round keeps its own reports (moby's overwrite each other).
  const runs: PackageRun[] = [];
  for (let round = 1; round <= options.repeat; round += 1) {
    for (const { dir, pkgDir, stem, binary, flags: partFlags } of parts) {
      const name = options.repeat > 1 ? `${stem}-round-${round}` : stem;
      const flags = [...partFlags, ...(options.coverage ? [`-test.coverprofile=${join(resultsDir, `${name}-coverage.out`)}`] : [])];
      runs.push({
        dir: options.repeat > 1 ? `${dir} (round ${round}/${options.repeat})` : dir,
        cwd: join(devContainer.sourceDir, pkgDir),
        command: [
          '--raw-command',
          '--',
          'go',
          'tool',
          'test2json',
          '-p',
          junitPackageName(pkgDir, go.goarch),
          '-t',
          ...(debug ? underDelve(debug, binary) : [binary]),
          ...flags,
        ],
        jsonFile: join(resultsDir, `${name}-go-test-report.json`),
        junitFile: join(resultsDir, `${name}-junit-report.xml`),
        index: runs.length + 1,
        total: parts.length * options.repeat,
      });
    }
  }
  onEvent({ type: 'step', text: `checking the test registry (${TEST_REGISTRY.pkg}@${TEST_REGISTRY.version})` });
  const registry = await installGoTool(TEST_REGISTRY, tools, context.env, context.signal);
  const testEnv = mobyTestEnv({
    env: context.env,
    dest: devContainer.dest,
    dockerHost: `unix://${context.daemon.socket}`,
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
  return {
    notes,
    config: {
      bundlesDir: context.bundlesDir,
      cacheDir: context.cacheDir,
      gotestsum: go.gotestsum,
      daemon: {
        stateDir: context.daemon.stateDir,
        logFile: context.daemon.logFile,
        dockerdArgs: integrationDaemonArgs(options),
        ...(options.mode.rootless ? { rootlessUser: ROOTLESS_TEST_USER } : {}),
        // .integration-daemon-start: dockerd with nftables does not turn forwarding on itself.
        sysctls: options.mode.firewallBackend === 'nftables' ? ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'] : [],
      },
      runs,
      failFast: options.failFast,
      testEnv,
      devContainer: devContainer.steps,
      ...(debug ? { debugger: { socket: debug.socket, listen: debug.listen } } : {}),
    },
  };
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
  const named = /^\((Test\w+Suite(?:\|Test\w+Suite)*)\)\/$/.exec(value ?? '');
  if (!named?.[1]) return undefined;
  const known = cliSuites(sourceDir);
  const suites = named[1].split('|');
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
 * ends delve. The API is a unix socket of root's (see debug-forward.ts).
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
