import { join, resolve } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { Env } from '../../core/env.js';
import Docker from 'dockerode';
import { formatLines, type Listener, type Renderer } from '../../core/events.js';
import { ensureFrozenImages, type FrozenImageEvent } from '../../testrunner/frozen-images/index.js';
import { frozenImageLines } from '../render/frozen-image-lines.js';
import { ensureRequirements, installPolicy, type Requirement } from '../../core/requirements.js';
import type { PackageResult, TestRunEvent } from '../../testrunner/events.js';
import { runInside } from '../../testrunner/host.js';
import { writeInsideConfig, type InsideConfig } from '../../testrunner/inside.js';
import type { NamespacePlan } from '../../testrunner/namespace.js';
import { outputMode } from '../render/choose.js';
import { jsonLinesRenderer } from '../render/json-lines.js';
import { plainRenderer } from '../render/plain.js';
import { testLines } from '../render/test-lines.js';
import { testListrRenderer } from '../render/test-listr.js';
import { defaultBundlesDir, defaultCacheDir, projectRoot, taskArgv } from '../paths.js';
import { interruptSignal } from './run-main.js';
import { bundlePaths } from '../../core/bundle-layout.js';
import { acquireLock } from '../../core/lock.js';
import { sha256Text } from '../../core/hashing.js';
import { readManifest } from '../../core/manifest.js';
import { resolveDaemonSource, type DaemonSource } from '../../core/daemon-source.js';
import { prepareGo, type GoSetup } from '../../testrunner/toolchain.js';

const NAMESPACE_NEEDS: Requirement[] = [
  { kind: 'command', command: 'unshare', aptPackage: 'util-linux', why: 'private mount, network and PID namespaces for the tests' },
  { kind: 'command', command: 'setpriv', aptPackage: 'util-linux', why: 'ending the namespaces with the runner' },
  { kind: 'command', command: 'ip', aptPackage: 'iproute2', why: 'loopback in the private network namespace' },
  { kind: 'command', command: 'slirp4netns', aptPackage: 'slirp4netns', why: "the tests' outbound network, without touching the host's" },
  // moby's dev container has it: the nftables firewall backend and its tests run nft.
  { kind: 'command', command: 'nft', aptPackage: 'nftables', why: "dockerd's nftables firewall backend, which moby's tests exercise" },
  // Also in moby's dev container: TestStatsNetworkStats pings a container from the test binary.
  { kind: 'command', command: 'ping', aptPackage: 'iputils-ping', why: 'tests that ping containers from the host' },
];

export function testRenderer(requested: string | undefined, env: Env): Renderer<TestRunEvent> {
  const mode = outputMode(requested, env);
  switch (mode) {
    case 'tty':
      return testListrRenderer();
    case 'plain':
      return plainRenderer(testLines);
    case 'json':
      return jsonLinesRenderer();
  }
}

/** Frozen-image events as the run's step lines. */
export function frozenImageSteps(onEvent: Listener<TestRunEvent>): Listener<FrozenImageEvent> {
  return (event) => {
    for (const line of formatLines(frozenImageLines, event)) onEvent({ type: 'step', text: typeof line === 'string' ? line : line.stderr });
  };
}

/** moby's TestMain needs the frozen images in the daemon: made here (no registry), loaded through its socket. */
export function loadFrozenImages(cacheDir: string, env: Env, signal: AbortSignal, onEvent: Listener<TestRunEvent>): (socket: string) => Promise<void> {
  return (socket) => ensureFrozenImages({ docker: new Docker({ socketPath: socket }), cacheDir, env, signal, onEvent: frozenImageSteps(onEvent) });
}

/** Namespaces, mounts and moby's tests need root, as in moby's dev container. */
export async function checkTestPrerequisites(env: Env, onEvent: Listener<TestRunEvent>): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new UserError("moby's test suites need root: they run dockerd, mount filesystems and program networks", 'Run it as root (e.g. with sudo -E).');
  }
  await ensureRequirements(
    NAMESPACE_NEEDS,
    installPolicy(env, (packages) => onEvent({ type: 'installing', packages })),
  );
}

/**
 * Hands the prepared run to the part inside the namespaces
 * (tasks/test-suites-inside.ts) and waits for it, forwarding its events.
 */
export async function runPreparedInside(
  config: InsideConfig,
  resultsDir: string,
  namespace: NamespacePlan,
  env: Env,
  onEvent: Listener<TestRunEvent>,
  signal: AbortSignal,
  prepareDaemon?: (socket: string) => Promise<void>,
  configName = 'inside.json',
): Promise<{ results: PackageResult[]; exitCode: number }> {
  const configFile = join(resultsDir, configName);
  await writeInsideConfig(configFile, config);
  const command = taskArgv('test-suites-inside', configFile);
  const plan: NamespacePlan = { ...namespace, keep: [...namespace.keep, resultsDir, projectRoot, process.execPath] };
  return runInside(plan, command, env, onEvent, signal, prepareDaemon);
}

export type Suite = 'test-integration' | 'test-unit';

/** The namespaces both suites run in: the bundle's init, the source (under an overlay when it must stay pristine), what the run reads. */
export function suiteNamespace(suite: OpenedSuite, execRoot?: string): NamespacePlan {
  const { bundlesDir, bundleDir, cacheDir, source, go } = suite;
  return {
    ...(execRoot ? { execRoot } : {}),
    overlaid: source.keepPristine ? [source.dir] : [],
    init: join(bundleDir, 'docker-init'),
    // Like a container ID's first twelve hex digits, as moby's dev container's hostname is; one per lane.
    hostname: sha256Text(execRoot ?? suite.resultsDir).slice(0, 12),
    keep: [bundlesDir, source.dir, cacheDir, go.goBinary, go.gocache, go.gopath],
  };
}

/** The summary, and the command's exit code: 1 when a test or a package failed. */
export function finishSuite(suite: OpenedSuite, outcome: { results: PackageResult[]; exitCode: number }, notes: string[]): number {
  const { results, exitCode } = outcome;
  suite.onEvent({ type: 'summary', packages: results, notes, seconds: (performance.now() - suite.began) / 1000, resultsDir: suite.resultsDir });
  return exitCode === 0 && results.every((result) => result.exitCode === 0) ? 0 : 1;
}

/** What both suites need before their own preparation; `release` gives up the suite's lock. */
export interface OpenedSuite {
  renderer: Renderer<TestRunEvent>;
  onEvent: Listener<TestRunEvent>;
  /** Fires on Ctrl-C or SIGTERM. */
  signal: AbortSignal;
  /** performance.now() when the command began, for the summary's duration. */
  began: number;
  release: () => Promise<void>;
  bundlesDir: string;
  bundleDir: string;
  cacheDir: string;
  source: DaemonSource;
  go: GoSetup;
  /** bundles/test-integration (or a mode's or shard's folder beside it) or bundles/test-unit. */
  resultsDir: string;
}

/**
 * The renderer, the prerequisites, one run per results folder at a time, the
 * bundle's manifest, the exact source its dockerd was built from, and Go with
 * gotestsum. On failure the renderer has finished and the lock is released.
 */
export async function openSuite(suite: Suite, options: { output?: string; bundlesDir?: string; resultsName?: string }, env: Env): Promise<OpenedSuite> {
  const renderer = testRenderer(options.output, env);
  const { onEvent } = renderer;
  const signal = interruptSignal();
  const began = performance.now();
  const bundlesDir = options.bundlesDir ? resolve(options.bundlesDir) : defaultBundlesDir(env);
  let release: () => Promise<void> = () => Promise.resolve();
  try {
    await checkTestPrerequisites(env, onEvent);
    const resultsName = options.resultsName ?? suite;
    // One run per results folder: two modes (or shards) of the same suite may run side by side.
    release = await acquireLock(join(bundlesDir, `${resultsName}.lock`), `npm run ${suite}`);
    const bundleDir = bundlePaths(bundlesDir).current;
    const manifest = readManifest(bundleDir);
    if (!manifest.components.daemon) throw new UserError(`no bundle in ${bundleDir}`, 'Build it first: npm run make');
    const cacheDir = defaultCacheDir(env);
    const source = await resolveDaemonSource(manifest, env, cacheDir);
    onEvent({ type: 'source', kind: source.kind, version: source.version, dir: source.dir });
    onEvent({ type: 'step', text: 'checking Go and installing gotestsum' });
    const go = await prepareGo(source.dir, cacheDir, env, signal);
    return { renderer, onEvent, signal, began, release, bundlesDir, bundleDir, cacheDir, source, go, resultsDir: join(bundlesDir, resultsName) };
  } catch (error) {
    await release();
    await renderer.finished();
    throw error;
  }
}
