import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Env } from '../core/env.js';
import { running } from '../core/procfs.js';
import type { StateLayout } from './layout.js';
import type { StartedDaemon } from './start.js';
import { livePid, removeRecord } from './state.js';
import { stopDebugger, sweep, terminate } from './stop.js';

/**
 * Stops dockerd so that a new binary can take its place: SIGTERM, a bounded
 * wait, SIGKILL, and delve after it when it ran dockerd. With live-restore the
 * containers, their shims and mounts and the bridge they use stay for the next
 * dockerd to adopt; without it whatever dockerd left is swept, but the bridge
 * stays either way, for the next start to reuse.
 */
export async function stopForRestart(daemon: StartedDaemon, env: Env, liveRestore: boolean, timeoutMs: number): Promise<void> {
  const { layout } = daemon;
  const pid = livePid(layout);
  if (pid !== undefined) await terminate(pid, timeoutMs);
  await stopDebugger(daemon.record.debuggerPid);
  const wrapper = daemon.child.pid;
  if (wrapper !== undefined && wrapper !== pid && running(wrapper)) await terminate(wrapper, 5000);
  if (!liveRestore) await sweep(layout, env, daemon.record.subnet);
  await rm(layout.pidFile, { force: true });
  await removeRecord(layout);
}

/** moby's --live-restore, given as a flag or in the daemon.json dockerd reads. */
export function liveRestoreRequested(dockerdArgs: readonly string[], layout: StateLayout): boolean {
  if (dockerdArgs.some((arg) => arg === '--live-restore' || arg === '--live-restore=true')) return true;
  const index = dockerdArgs.findIndex((arg) => arg === '--config-file' || arg.startsWith('--config-file='));
  const configFile = index < 0 ? layout.configFile : (dockerdArgs[index]?.split('=')[1] ?? dockerdArgs[index + 1]);
  try {
    return (JSON.parse(readFileSync(configFile ?? layout.configFile, 'utf8')) as Record<string, unknown>)['live-restore'] === true;
  } catch {
    return false;
  }
}
