import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { bundlePaths } from '../core/bundle-layout.js';
import { InterruptedError, UserError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { ensureRequirements, installPolicy, type Requirement } from '../core/requirements.js';
import { waitForPing } from './client.js';
import { dockerdEnv, launchDockerd } from './command.js';
import { dockerHostOf, stateLayout, type StateLayout } from './layout.js';
import type { Listener } from '../core/events.js';
import { lastLines } from '../core/log-tail.js';
import type { DevDaemonEvent } from './events.js';
import { createBridge, planBridge } from './network.js';
import { livePid, readPidFile, readRecord, writeRecord, type DaemonRecord } from './state.js';
import { disproveBundle } from './proof.js';
import { cleanUp, stopDaemon, sweep } from './stop.js';
import { verifyBundle } from './bundle-check.js';
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
}

export interface StartedDaemon {
  layout: StateLayout;
  record: DaemonRecord;
  manifest: Manifest;
  child: ChildProcess;
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
  const bundleDir = bundlePaths(options.bundlesDir).current;
  await mkdir(layout.stateDir, { recursive: true, mode: 0o711 });
  refuseRunning(layout);
  await recoverStale(layout, env, onEvent);
  const manifest = await verifyBundle(bundleDir, layout.verifiedFile);
  if (process.getuid?.() !== 0) {
    throw new UserError('dockerd needs root: it mounts filesystems and programs the network', 'Run npm run dev-daemon as root (e.g. with sudo -E).');
  }
  // The PATH dockerd will get (sbin included), so a found iptables is the one it runs.
  await ensureRequirements(
    RUNTIME_NEEDS,
    installPolicy(dockerdEnv(bundleDir, env), (packages) => onEvent({ type: 'installing', packages })),
  );
  if (existsSync(SYSTEM_CONTAINERD_SOCKET)) {
    throw new UserError(
      `a system containerd listens on ${SYSTEM_CONTAINERD_SOCKET}; dockerd would use it instead of the bundled containerd`,
      'Stop the system containerd while the dev daemon runs (dockerd has no switch to ignore it).',
    );
  }

  const bridge = planBridge(layout.stateDir);
  await createBridge(bridge, env);
  if (!existsSync(layout.configFile)) await writeFile(layout.configFile, '{}\n');
  const logFile = options.logFile ?? layout.logFile;
  const spawned = performance.now(); // the start timeout counts from here, not from hashing
  const { child, exited, exitStatus } = launchDockerd(layout, bundleDir, bridge, options.dockerdArgs, env, logFile);
  const record: DaemonRecord = {
    pid: child.pid ?? 0,
    dockerHost: dockerHostOf(layout),
    bridge: bridge.name,
    subnet: bridge.subnet,
    bundleDir,
    logFile,
    startedAt: new Date().toISOString(),
    readySeconds: 0,
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

  const problem = await disproveBundle(layout, manifest, bundleDir, record.pid);
  if (problem) {
    await stopDaemon(layout, env);
    throw problem;
  }
  await writeRecord(layout, record);
  return { layout, record, manifest, child, exited };
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
  const { leftoverProcesses, leftoverMounts } = await sweep(layout, env, record?.subnet);
  await cleanUp(layout, env, record);
  const pid = stalePid ?? record?.pid;
  onEvent({ type: 'stale-cleaned', ...(pid !== undefined ? { pid } : {}), leftoverProcesses: leftoverProcesses.length, leftoverMounts: leftoverMounts.length });
  await rm(layout.pidFile, { force: true });
}

function describeExit(exit: number | NodeJS.Signals): string {
  return typeof exit === 'number' ? `exit code ${exit}` : `killed by ${exit}`;
}
