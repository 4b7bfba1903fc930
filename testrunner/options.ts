import { parseArgs } from 'node:util';
import { UserError } from '../core/errors.js';
import type { Env } from '../core/env.js';
import { debugListenAddress } from '../core/loopback.js';
import { modeVariables, readDaemonMode, type DaemonMode } from './modes.js';

/**
 * What moby's hack/make/.integration-test-helpers and .integration-daemon-start
 * read from the environment, under the same names and meanings; each also has
 * a flag, and a flag wins over its variable.
 */
export interface IntegrationOptions {
  /** TEST_INTEGRATION_DIR / --dirs: packages instead of every one under integration/. */
  dirs: string[] | undefined;
  /** TEST_FILTER / --run: a test name regexp (-test.run), which also picks the packages. */
  filter: string | undefined;
  /** TESTFLAGS / --testflags, split on white space as the shell does. */
  testFlags: string[];
  failFast: boolean;
  skipIntegration: boolean;
  skipIntegrationCli: boolean;
  graphDriver: string;
  userlandProxy: string;
  experimental: boolean;
  /** TIMEOUT / --timeout: -test.timeout per package (moby's default 10m). */
  timeout: string;
  /** DELVE_PORT / --debug-port: each test binary under delve, its API reachable here (loopback only). */
  debugListen: string | undefined;
  /** TEST_REPEAT / --repeat: the whole run this many times against the same daemon (moby's default 1). */
  repeat: number;
  /** TESTCOVERAGE / --coverage: binaries built with -cover, a coverage profile per package. */
  coverage: boolean;
  /** --mode and the variables it stands for (DOCKER_ROOTLESS, DOCKER_REMAP_ROOT, ...): see modes.ts. */
  mode: DaemonMode;
  /** TESTFLAGS_INTEGRATION / TESTFLAGS_INTEGRATION_CLI: flags for one suite only, after TESTFLAGS. */
  suiteTestFlags: { integration: string[]; integrationCli: string[] };
  /** TESTDEBUG / --testdebug: every command the runner starts, shown as it starts (moby's set -x). */
  testDebug: boolean;
  /** --shard I/N: the I-th of N groups of the run's packages and suites (shards.ts). */
  shard: { index: number; count: number } | undefined;
  /** --list-shards N: print the N shards (a CI's matrix) instead of running. */
  listShards: number | undefined;
  /** --jobs N: N shards side by side on this machine, each in namespaces of its own. */
  jobs: number;
  /** --vm / TEST_INTEGRATION_VM: the whole run inside the machine image (npm run image), on its kernel and cgroup v2. */
  vm: boolean;
  output: string | undefined;
  bundlesDir: string | undefined;
  help: boolean;
}

export interface UnitOptions {
  /** TESTDIRS / --dirs (default ./...). */
  dirs: string;
  testFlags: string[];
  /** TIMEOUT / --timeout (hack/test/unit's default 5m). */
  timeout: string;
  output: string | undefined;
  bundlesDir: string | undefined;
  help: boolean;
}

/** moby's shell tests a variable with `[ -n "$VAR" ]`: any non-empty value turns it on. */
function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '';
}

function nonEmpty(value: string | undefined): string | undefined {
  return isSet(value) ? value : undefined;
}

export function splitWords(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter(Boolean);
}

const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;

function checkTimeout(timeout: string, source: string): string {
  if (!GO_DURATION.test(timeout)) throw new UserError(`${source}=${timeout} is not a Go duration`, 'Use e.g. 10m, 90s or 1h30m.');
  return timeout;
}

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** A Go duration times n, in seconds (moby multiplies the number before the last letter, which breaks on 1h30m). */
export function scaleDuration(duration: string, n: number): string {
  let seconds = 0;
  for (const [, amount, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) seconds += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
  return `${Math.round(seconds * n)}s`;
}

function positiveWhole(text: string, source: string, example: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1) throw new UserError(`${source} ${text} is not a positive whole number`, `Give e.g. ${source} ${example}.`);
  return value;
}

/** `I/N` with 1 ≤ I ≤ N, as CI jobs number their shards. */
export function parseShard(text: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) {
    throw new UserError(`--shard ${text} is not one of N shards`, 'Give I/N with 1 ≤ I ≤ N, e.g. --shard 2/4 (the second of four).');
  }
  return { index, count };
}

function checkDirs(dirs: string[], source: string): string[] {
  for (const dir of dirs) {
    if (dir.startsWith('/') || dir.split('/').includes('..')) {
      throw new UserError(
        `${source}: ${dir} is not a package directory inside the source tree`,
        'Name packages relative to the moby tree, e.g. ./integration/container.',
      );
    }
  }
  return dirs.map((dir) => (dir.startsWith('./') || dir === '.' ? dir : `./${dir}`));
}

export function parseIntegrationOptions(argv: readonly string[], env: Env): IntegrationOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      dirs: { type: 'string' },
      run: { type: 'string' },
      testflags: { type: 'string' },
      'fail-fast': { type: 'boolean' },
      'skip-integration': { type: 'boolean' },
      'skip-integration-cli': { type: 'boolean' },
      graphdriver: { type: 'string' },
      'userland-proxy': { type: 'string' },
      experimental: { type: 'boolean' },
      timeout: { type: 'string' },
      'debug-port': { type: 'string' },
      repeat: { type: 'string' },
      coverage: { type: 'boolean' },
      mode: { type: 'string' },
      rootless: { type: 'boolean' },
      'userns-remap': { type: 'string' },
      'firewall-backend': { type: 'string' },
      'use-graphdriver': { type: 'boolean' },
      'dockerd-args': { type: 'string' },
      'storage-opts': { type: 'string' },
      'testflags-integration': { type: 'string' },
      'testflags-integration-cli': { type: 'string' },
      testdebug: { type: 'boolean' },
      shard: { type: 'string' },
      'list-shards': { type: 'string' },
      jobs: { type: 'string' },
      vm: { type: 'boolean' },
      output: { type: 'string' },
      bundles: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  // --mode stands for moby CI's variables; a flag of its own still wins over both.
  const flagVars: Record<string, string | undefined> = {
    DOCKER_ROOTLESS: values.rootless ? '1' : undefined,
    DOCKER_REMAP_ROOT: values['userns-remap'],
    DOCKER_FIREWALL_BACKEND: values['firewall-backend'],
    TEST_INTEGRATION_USE_GRAPHDRIVER: values['use-graphdriver'] ? '1' : undefined,
    DOCKERD_ARGS: values['dockerd-args'],
    DOCKER_STORAGE_OPTS: values['storage-opts'],
    DOCKER_GRAPHDRIVER: values.graphdriver,
  };
  const vars: Env = {
    ...env,
    ...(values.mode !== undefined ? modeVariables(values.mode) : {}),
    ...Object.fromEntries(Object.entries(flagVars).filter(([, value]) => value !== undefined)),
  };
  const debugSpec = values['debug-port'] ?? nonEmpty(env.DELVE_PORT);
  const repeatText = values.repeat ?? nonEmpty(env.TEST_REPEAT) ?? '1';
  const repeat = Number(repeatText);
  if (!/^\d+$/.test(repeatText) || repeat < 1) {
    throw new UserError(
      `${values.repeat ? '--repeat' : 'TEST_REPEAT'}=${repeatText} is not a positive whole number`,
      'Give how many times to run, e.g. TEST_REPEAT=5.',
    );
  }
  const timeout = checkTimeout(values.timeout ?? nonEmpty(env.TIMEOUT) ?? '10m', values.timeout ? '--timeout' : 'TIMEOUT');
  // Packages may also be named as arguments, like `go test ./integration/container`.
  const dirsText = values.dirs ?? (positionals.length > 0 ? positionals.join(' ') : nonEmpty(env.TEST_INTEGRATION_DIR));
  const source = values.dirs !== undefined || positionals.length > 0 ? '--dirs' : 'TEST_INTEGRATION_DIR';
  const userlandProxy = values['userland-proxy'] ?? nonEmpty(env.DOCKER_USERLANDPROXY) ?? 'true';
  if (userlandProxy !== 'true' && userlandProxy !== 'false') {
    throw new UserError(`DOCKER_USERLANDPROXY=${userlandProxy} must be true or false`, 'It becomes dockerd --userland-proxy.');
  }
  return {
    dirs: dirsText === undefined ? undefined : checkDirs(splitWords(dirsText), source),
    filter: values.run ?? nonEmpty(env.TEST_FILTER),
    testFlags: splitWords(values.testflags ?? env.TESTFLAGS),
    failFast: values['fail-fast'] ?? isSet(env.TEST_INTEGRATION_FAIL_FAST),
    skipIntegration: values['skip-integration'] ?? isSet(env.TEST_SKIP_INTEGRATION),
    skipIntegrationCli: values['skip-integration-cli'] ?? isSet(env.TEST_SKIP_INTEGRATION_CLI),
    graphDriver: nonEmpty(vars.DOCKER_GRAPHDRIVER) ?? 'native',
    userlandProxy,
    experimental: values.experimental ?? isSet(vars.DOCKER_EXPERIMENTAL),
    // moby's set_repeat_timeout: TIMEOUT grows with TEST_REPEAT, or a premature time out may happen.
    timeout: repeat > 1 ? scaleDuration(timeout, repeat) : timeout,
    repeat,
    coverage: values.coverage ?? isSet(env.TESTCOVERAGE),
    mode: readDaemonMode(vars, splitWords),
    suiteTestFlags: {
      integration: splitWords(values['testflags-integration'] ?? env.TESTFLAGS_INTEGRATION),
      integrationCli: splitWords(values['testflags-integration-cli'] ?? env.TESTFLAGS_INTEGRATION_CLI),
    },
    testDebug: values.testdebug ?? isSet(env.TESTDEBUG),
    shard: values.shard === undefined ? undefined : parseShard(values.shard),
    listShards: values['list-shards'] === undefined ? undefined : positiveWhole(values['list-shards'], '--list-shards', '6'),
    jobs: values.jobs === undefined ? 1 : positiveWhole(values.jobs, '--jobs', '2'),
    vm: values.vm ?? isSet(env.TEST_INTEGRATION_VM),
    debugListen: debugSpec === undefined ? undefined : debugListenAddress(debugSpec),
    output: values.output,
    bundlesDir: values.bundles,
    help: values.help ?? false,
  };
}

export function parseUnitOptions(argv: readonly string[], env: Env): UnitOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      dirs: { type: 'string' },
      testflags: { type: 'string' },
      timeout: { type: 'string' },
      output: { type: 'string' },
      bundles: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const dirsText = values.dirs ?? (positionals.length > 0 ? positionals.join(' ') : nonEmpty(env.TESTDIRS)) ?? './...';
  const dirs = checkDirs(splitWords(dirsText), values.dirs !== undefined || positionals.length > 0 ? '--dirs' : 'TESTDIRS');
  return {
    dirs: dirs.join(' '),
    testFlags: splitWords(values.testflags ?? env.TESTFLAGS),
    timeout: checkTimeout(values.timeout ?? nonEmpty(env.TIMEOUT) ?? '5m', values.timeout ? '--timeout' : 'TIMEOUT'),
    output: values.output,
    bundlesDir: values.bundles,
    help: values.help ?? false,
  };
}
