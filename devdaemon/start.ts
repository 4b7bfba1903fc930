import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { bundlePaths } from '../core/bundle-layout.js';
import { parentOf } from '../core/procfs.js';
import { InterruptedError, UserError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { ensureRequirements, installPolicy, type InstallPolicy, type Requirement } from '../core/requirements.js';
import { waitForPing } from './client.js';
import { dockerdEnv, launchDockerd, type Launched } from './command.js';
import { dockerHostOf, stateLayout, type StateLayout } from './layout.js';
import type { Listener } from '../core/events.js';
import { lastLines } from '../core/log-tail.js';
import type { DevDaemonEvent } from './events.js';
import { bridgeExists, createBridge, planBridge, type BridgePlan } from './network.js';
import { whenGone, type DebuggerLaunch } from './debug.js';
import { hostSubnetOf, livePid, readPidFile, readRecord, writeRecord, type DaemonRecord } from './state.js';
import { disproveBundle } from './proof.js';
import { cleanUp, stopDaemon, sweep } from './stop.js';
import { verifyBundle } from './bundle-check.js';
import { setUpRootless } from './rootless/setup.js';
import { launchRootless } from './rootless/launch.js';
import { disproveRootless, namespaceBridge } from './rootless/proof.js';
import type { RootlessUser } from './rootless/user.js';
import type { Env } from '../core/env.js';

export interface StartOptions {
  /** The bundles root; the daemon runs `<root>/binary-daemon`. */
  bundlesDir: string;
  stateDir: string;
  dockerdArgs: readonly string[];
  /** Where dockerd's output goes (rewritten at each start); default `<state>/dockerd.log`. */
  logFile?: string;
  env: Env;
  onEvent: Listener<DevDaemonEvent>;
  /** Aborting while dockerd starts stops it again. */
  signal?: AbortSignal;
  startTimeoutMs?: number;
  /** Run it without root through the bundle's dockerd-rootless.sh (devdaemon/rootless/). */
  rootless?: { user?: string };
  /** The bridge of the daemon this one replaces (a watch restart): kept, with any live-restored containers on it. */
  bridge?: BridgePlan;
  /** Run dockerd under delve (devdaemon/debug.ts). */
  debugger?: DebuggerLaunch;
  /**
   * Let dockerd create and own its default bridge docker0 (as moby's test
   * harness expects) instead of a bridge of ours. Only for a daemon in a
   * private network namespace: a docker0 that already exists is refused.
   */
  defaultBridge?: boolean;
}

export interface StartedDaemon {
  layout: StateLayout;
  record: DaemonRecord;
  manifest: Manifest;
  /** dockerd, or what runs it (rootlesskit, delve). */
  child: ChildProcess;
  /** The host bridge of a rootful daemon. */
  bridge?: BridgePlan;
  /** Resolves with dockerd's exit code (or the signal that ended it). */
  exited: Promise<number | NodeJS.Signals>;
}

/** What dockerd needs on the machine at run time, installed like build prerequisites. */
const RUNTIME_NEEDS: Requirement[] = [
  { kind: 'command', command: 'iptables', aptPackage: 'iptables', why: 'dockerd programs container networking with it' },
  { kind: 'command', command: 'ip', aptPackage: 'iproute2', why: 'creating the dev daemon bridge' },
];

/** dockerd attaches to this socket when it exists instead of starting the bundled containerd. */
const SYSTEM_CONTAINERD_SOCKET = '/run/containerd/containerd.sock';
const START_TIMEOUT_MS = 120_000;
const LOG_TAIL = 40;

export async function startDaemon(options: StartOptions): Promise<StartedDaemon> {
  const began = performance.now();
  const { env, onEvent } = options;
  const layout = stateLayout(options.stateDir);
  const bundle = bundlePaths(options.bundlesDir);
  const bundleDir = bundle.current;
  await mkdir(layout.stateDir, { recursive: true, mode: 0o711 });
  refuseRunning(layout);
  await recoverStale(layout, env, onEvent);
  // make's memo of the bundles' digests: a start right after a build hashes nothing the build proved or wrote.
  const manifest = await verifyBundle(bundleDir, bundle.digests);
  // The PATH dockerd will get (sbin included), so a found iptables is the one it runs.
  const policy = installPolicy(dockerdEnv(bundleDir, env), (packages) => onEvent({ type: 'installing', packages }));
  const rootless = options.rootless ? await setUpRootless(layout, bundleDir, options.rootless.user, policy, env, onEvent) : undefined;
  const bridge = rootless ? undefined : await setUpRootful(layout, policy, env, options.defaultBridge ?? false, options.bridge);
  if (!existsSync(layout.configFile)) await writeFile(layout.configFile, '{}\n');
  const logFile = options.logFile ?? layout.logFile;
  const spawned = performance.now(); // the start timeout counts from here, not from hashing
  const { child, exited, exitStatus } = launch(layout, bundleDir, bridge, rootless, options.dockerdArgs, env, logFile, options.debugger);
  const record: DaemonRecord = {
    pid: child.pid ?? 0,
    dockerHost: dockerHostOf(layout),
    // A rootless daemon's bridge lives in rootlesskit's namespace; it is read once the API answers.
    bridge: bridge?.name ?? '',
    subnet: bridge?.subnet ?? '',
    bundleDir,
    logFile,
    startedAt: new Date().toISOString(),
    readySeconds: 0,
    ...(rootless ? { rootless: { user: rootless.name, uid: rootless.uid, rootlesskitPid: child.pid ?? 0 } } : {}),
  };
  await writeRecord(layout, record); // so `stop` can clean up even before the API answers

  const deadline = spawned + (options.startTimeoutMs ?? START_TIMEOUT_MS);
  const ready = await waitForPing(layout.socket, () => exitStatus() !== undefined || Boolean(options.signal?.aborted) || performance.now() > deadline);
  if (!ready) {
    await stopDaemon(layout, env);
    if (options.signal?.aborted) throw new InterruptedError('dockerd was stopped again before it was ready.');
    const status = exitStatus();
    const why =
      status !== undefined
        ? `dockerd exited during start-up (${describeExit(status)})`
        : `dockerd did not answer on ${layout.socket} within ${Math.round((options.startTimeoutMs ?? START_TIMEOUT_MS) / 1000)} s`;
    throw new UserError(`${why}; the last ${LOG_TAIL} lines of ${logFile}:\n${(await lastLines(logFile, LOG_TAIL)).join('\n')}`);
  }
  record.readySeconds = (performance.now() - began) / 1000;
  // The child may be rootlesskit or delve; dockerd, below it, wrote the pidfile.
  record.pid = readPidFile(layout) ?? record.pid;
  if (rootless) Object.assign(record, await namespaceBridge(layout));
  if (options.debugger) {
    const delve = parentOf(record.pid);
    if (delve !== undefined) record.debuggerPid = delve;
  }

  const problem =
    (await disproveBundle(layout, manifest, bundleDir, record.pid)) ?? (rootless ? await disproveRootless(layout, bundleDir, child.pid ?? 0) : undefined);
  if (problem) {
    await stopDaemon(layout, env);
    throw problem;
  }
  await writeRecord(layout, record);
  // Under delve, dockerd's end is not delve's: delve waits for clients after its debuggee exits.
  const dockerdPid = record.pid;
  const dockerdExited = options.debugger ? Promise.race([exited, whenGone(dockerdPid).then(() => exitStatus() ?? 'SIGKILL')]) : exited;
  return { layout, record, manifest, child, ...(bridge ? { bridge } : {}), exited: dockerdExited };
}

/** What only the rootful daemon needs: root, iptables and ip, no system containerd in the way, and its own bridge. */
async function setUpRootful(
  layout: StateLayout,
  policy: InstallPolicy,
  env: Env,
  defaultBridge: boolean,
  previous?: BridgePlan,
): Promise<BridgePlan | undefined> {
  if (process.getuid?.() !== 0) {
    throw new UserError('dockerd needs root: it mounts filesystems and programs the network', 'Run npm run dev-daemon as root (e.g. with sudo -E).');
  }
  await ensureRequirements(RUNTIME_NEEDS, policy);
  if (existsSync(SYSTEM_CONTAINERD_SOCKET)) {
    throw new UserError(
      `a system containerd listens on ${SYSTEM_CONTAINERD_SOCKET}; dockerd would use it instead of the bundled containerd`,
      'Stop the system containerd while the dev daemon runs (dockerd has no switch to ignore it).',
    );
  }

  if (defaultBridge) {
    refuseExistingDocker0();
    return undefined;
  }
  const bridge = previous ?? planBridge(layout.stateDir);
  if (!previous || !bridgeExists(bridge)) await createBridge(bridge, env);
  return bridge;
}

function refuseExistingDocker0(): void {
  if (!existsSync('/sys/class/net/docker0')) return;
  throw new UserError(
    'docker0 already exists in this network namespace; the default bridge is only for a daemon in a private network namespace',
    'Run the daemon under `unshare --net` (as npm run test-integration does), or without defaultBridge.',
  );
}

function launch(
  layout: StateLayout,
  bundleDir: string,
  bridge: BridgePlan | undefined,
  rootless: RootlessUser | undefined,
  dockerdArgs: readonly string[],
  env: Env,
  logFile: string,
  debug?: DebuggerLaunch,
): Launched {
  if (rootless) return launchRootless(layout, bundleDir, rootless, dockerdArgs, env, logFile, debug);
  return launchDockerd(layout, bundleDir, bridge, dockerdArgs, env, logFile, debug);
}

function refuseRunning(layout: StateLayout): void {
  const pid = livePid(layout);
  if (pid === undefined) return;
  throw new UserError(
    `a dev daemon is already running from ${layout.stateDir} (pid ${pid}, ${dockerHostOf(layout)})`,
    'Stop it with: npm run dev-daemon -- stop   (or start another one with --state DIR)',
  );
}

/** A daemon that died without its supervisor's clean-up leaves a pidfile, mounts and a bridge. */
async function recoverStale(layout: StateLayout, env: Env, onEvent: Listener<DevDaemonEvent>): Promise<void> {
  const stalePid = readPidFile(layout);
  const record = readRecord(layout);
  if (stalePid === undefined && !record) return;
  const { leftoverProcesses, leftoverMounts } = await sweep(layout, env, hostSubnetOf(record));
  await cleanUp(layout, env, record);
  const pid = stalePid ?? record?.pid;
  onEvent({ type: 'stale-cleaned', ...(pid !== undefined ? { pid } : {}), leftoverProcesses: leftoverProcesses.length, leftoverMounts: leftoverMounts.length });
  await rm(layout.pidFile, { force: true });
}

function describeExit(exit: number | NodeJS.Signals): string {
  return typeof exit === 'number' ? `exit code ${exit}` : `killed by ${exit}`;
}
