import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../core/errors.js';
import { clientFor, pingOnce } from './client.js';
import { dockerHostOf, type StateLayout } from './layout.js';
import { killProcessesUnder, unmountUnder } from './leftovers.js';
import { exeOf, running } from '../core/procfs.js';
import { basename } from 'node:path';
import { removeBridge } from './network.js';
import { hostSubnetOf, livePid, readRecord, removeRecord, type DaemonRecord } from './state.js';
import type { Env } from '../core/env.js';

/** dockerd's own --shutdown-timeout is 15 s for containers, plus containerd's shutdown. */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;

export interface StopResult {
  /** The dockerd that was asked to stop, if one ran. */
  pid?: number;
  /** True when it ignored SIGTERM for the whole wait and was killed. */
  killed: boolean;
  /** Processes and mounts of ours that were still there after dockerd went. */
  leftoverProcesses: number[];
  leftoverMounts: string[];
}

/**
 * SIGTERM, a bounded wait, SIGKILL; then whatever a killed daemon leaves
 * (containerd, shims, container processes, mounts, the bridge and its
 * iptables rules) is removed, so the state folder holds only files.
 */
export async function stopDaemon(layout: StateLayout, env: Env, timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<StopResult> {
  const record = readRecord(layout);
  const pid = livePid(layout);
  const killed = pid !== undefined && (await terminate(pid, timeoutMs)) === 'killed';
  await stopDebugger(record?.debuggerPid);
  // rootlesskit ends once dockerd (or delve), its child, has; waiting keeps it (and slirp4netns) out of the leftovers.
  if (record?.rootless && isRootlesskit(record.rootless.rootlesskitPid)) await waitForExit(record.rootless.rootlesskitPid, 5000);
  const leftovers = await sweep(layout, env, hostSubnetOf(record));
  await cleanUp(layout, env, record);
  return { ...(pid !== undefined ? { pid } : {}), killed, ...leftovers };
}

/** Forgets a daemon that is gone: its bridge, iptables rules, pidfile and record. */
export async function cleanUp(layout: StateLayout, env: Env, record = readRecord(layout)): Promise<void> {
  // An empty bridge is dockerd's own docker0 in a private network namespace, which goes with it.
  if (record && !record.rootless && record.bridge) await removeBridge(record.bridge, env, record.subnet);
  await rm(layout.pidFile, { force: true });
  await removeRecord(layout);
}

/** Ends processes of ours and unmounts what is mounted under the state folder. */
export async function sweep(layout: StateLayout, env: Env, containerSubnet?: string): Promise<Pick<StopResult, 'leftoverProcesses' | 'leftoverMounts'>> {
  const leftoverProcesses = await killProcessesUnder(layout.stateDir, containerSubnet);
  const leftoverMounts = await unmountUnder(layout.stateDir, env);
  return { leftoverProcesses, leftoverMounts };
}

/** SIGTERM, a bounded wait, SIGKILL; whether the process ended by itself or had to be killed. */
export async function terminate(pid: number, timeoutMs: number): Promise<'ended' | 'killed'> {
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, timeoutMs)) return 'ended';
  signal(pid, 'SIGKILL');
  await waitForExit(pid, 5000);
  return 'killed';
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/**
 * delve outlives the dockerd it ran, waiting for its clients; under
 * rootlesskit, whose child it is, it would keep rootlesskit waiting too.
 * Only a pid that still runs delve is signalled.
 */
export async function stopDebugger(pid: number | undefined): Promise<void> {
  if (pid !== undefined && basename(exeOf(pid) ?? '') === 'dlv') await terminate(pid, 5000);
}

function isRootlesskit(pid: number): boolean {
  return pid > 0 && basename(exeOf(pid) ?? '') === 'rootlesskit';
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  for (let waited = 0; waited < timeoutMs; waited += 25) {
    if (!running(pid)) return true;
    await sleep(25);
  }
  return !running(pid);
}

/** SIGHUP makes dockerd re-read its --config-file (the reloadable subset of daemon.json). */
export function reloadDaemon(layout: StateLayout): number {
  const pid = livePid(layout);
  if (pid === undefined) throw notRunning(layout);
  process.kill(pid, 'SIGHUP');
  return pid;
}

export interface DaemonStatus {
  pid?: number;
  record?: DaemonRecord;
  responding: boolean;
  dockerHost: string;
}

export async function daemonStatus(layout: StateLayout): Promise<DaemonStatus> {
  const pid = livePid(layout);
  const record = readRecord(layout);
  const responding = pid !== undefined && (await pingOnce(clientFor(layout.socket)));
  return { ...(pid !== undefined ? { pid } : {}), ...(record ? { record } : {}), responding, dockerHost: dockerHostOf(layout) };
}

export function notRunning(layout: StateLayout): UserError {
  return new UserError(`no dev daemon is running from ${layout.stateDir}`, 'Start one with: npm run dev-daemon -- --detach');
}
