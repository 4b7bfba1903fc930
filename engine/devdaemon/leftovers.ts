import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../process.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * What a dev daemon can leave behind when it is killed instead of stopped:
 * its containerd, shims (their command lines name the exec-root), container
 * processes (their root is a rootfs under the exec-root) and mounts. All of it
 * is recognisable by the state folder, which no other daemon uses.
 */
export function processesUnder(stateDir: string): number[] {
  const prefix = `${stateDir}/`;
  const spared = new Set([process.pid, process.ppid]);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (spared.has(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(prefix) || readlinkSync(`/proc/${pid}/root`).startsWith(prefix)) found.push(pid);
    } catch {
      // gone meanwhile, or a kernel thread without a root
    }
  }
  return found;
}

/** Mount points at or below the folder, deepest first (so parents unmount last). */
export function mountsUnder(dir: string): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))))
    .filter((point) => point === dir || point.startsWith(`${dir}/`));
  return [...new Set(mounts)].sort((a, b) => b.length - a.length);
}

/** SIGTERM, a short grace, then SIGKILL for whatever still runs; returns what was found. */
export async function killProcessesUnder(stateDir: string, graceMs = 2000): Promise<number[]> {
  const pids = processesUnder(stateDir);
  for (const pid of pids) signal(pid, 'SIGTERM');
  for (let waited = 0; waited < graceMs && pids.some(running); waited += 50) await sleep(50);
  for (const pid of pids.filter(running)) signal(pid, 'SIGKILL');
  for (let waited = 0; waited < 5000 && pids.some(running); waited += 50) await sleep(50);
  return pids;
}

/** Lazy unmount: a mount still busy in some process is detached now and freed when released. */
export async function unmountUnder(dir: string, env: Env): Promise<string[]> {
  const mounts = mountsUnder(dir);
  for (const point of mounts) await run(['umount', '-l', point], { env });
  return mounts;
}

/** Alive and not a zombie waiting for a parent that may never reap it. */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
