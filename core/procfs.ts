import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** Reading /proc directly: one file per question, no `ps` to spawn and parse. */

/** Every pid on the machine. */
export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

/** State and parent from /proc/PID/stat; the command name may hold spaces and parentheses, so read after the last ')'. */
function stat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state = '', ppid = '0'] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie waiting for a parent that may never reap it (this VM's init does not). */
export function running(pid: number): boolean {
  const info = stat(pid);
  return info !== undefined && info.state !== 'Z';
}

export function parentOf(pid: number): number | undefined {
  return stat(pid)?.ppid;
}

export function childrenOf(pid: number): number[] {
  return allPids().filter((child) => stat(child)?.ppid === pid);
}

/** The executable a process runs, without the " (deleted)" a rebuilt bundle adds; undefined when unreadable. */
export function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

export function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

export function cgroupsOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  } catch {
    return [];
  }
}

/** Alive in the kernel's eyes (a zombie counts): kill(pid, 0) succeeds or is refused for permission. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
