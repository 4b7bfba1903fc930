import { readFileSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { readJsonFile } from '../core/json-file.js';
import type { StateLayout } from './layout.js';
import { running } from '../core/procfs.js';

/** What `status`, `stop` and `reload` in another process need to know about a started daemon. */
const daemonRecordSchema = z.object({
  pid: z.number().int().nonnegative(),
  dockerHost: z.string(),
  bridge: z.string(),
  subnet: z.string(),
  bundleDir: z.string(),
  logFile: z.string(),
  startedAt: z.string(),
  readySeconds: z.number(),
  /** Set for a rootless daemon: bridge and subnet then name the bridge inside rootlesskit's namespace, never a host one. */
  rootless: z.object({ user: z.string(), uid: z.number().int(), rootlesskitPid: z.number().int().nonnegative() }).optional(),
  /** delve, when dockerd runs under it (--debug-port); `pid` is still dockerd's. */
  debuggerPid: z.number().int().positive().optional(),
});
export type DaemonRecord = z.infer<typeof daemonRecordSchema>;

/** The record of a started daemon; none when missing or damaged (a stop then finds leftovers by /proc and mounts). */
export function readRecord(layout: StateLayout): DaemonRecord | undefined {
  // A rootless daemon's user owns the state folder and could swap the record; root acts only on one root wrote.
  if (!trusted(layout.metaFile)) return undefined;
  return readJsonFile(layout.metaFile, daemonRecordSchema);
}

/** The subnet of the daemon's bridge on the host; a rootless daemon's lives in its own namespace and may equal a system docker0's. */
export function hostSubnetOf(record: DaemonRecord | undefined): string | undefined {
  return record?.rootless ? undefined : record?.subnet;
}

function trusted(file: string): boolean {
  try {
    const owner = statSync(file).uid;
    return owner === 0 || owner === process.getuid?.();
  } catch {
    return true; // missing: readJsonFile says so
  }
}

export async function writeRecord(layout: StateLayout, record: DaemonRecord): Promise<void> {
  await writeFile(layout.metaFile, `${JSON.stringify(record, null, 2)}\n`);
}

export async function removeRecord(layout: StateLayout): Promise<void> {
  await rm(layout.metaFile, { force: true });
}

export function readPidFile(layout: StateLayout): number | undefined {
  try {
    const pid = Number(readFileSync(layout.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pid of this state folder's dockerd when one runs: the pidfile (or our
 * record, for a daemon still starting) names a live dockerd whose command line
 * uses this state folder. A reused pid of some other program does not count.
 */
export function livePid(layout: StateLayout): number | undefined {
  for (const pid of [readPidFile(layout), readRecord(layout)?.pid]) {
    if (pid !== undefined && isOurDockerd(pid, layout)) return pid;
  }
  return undefined;
}

function isOurDockerd(pid: number, layout: StateLayout): boolean {
  if (!running(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return (argv[0] ?? '').endsWith('dockerd') && argv.includes(layout.pidFile);
  } catch {
    return false;
  }
}
