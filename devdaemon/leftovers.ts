import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../core/process.js';
import { stateLayout } from './layout.js';
import { allPids, argvOf, cgroupsOf, exeOf, running } from '../core/procfs.js';
import type { Env } from '../core/env.js';
import { namespaceMates } from './rootless/leftovers.js';

/** The programs a dev daemon runs; only these are matched by command line, never an editor or `tail -f` on a state file. */
const STACK = new Set(['dockerd', 'containerd', 'containerd-shim-runc-v2', 'runc', 'docker-init', 'rootlesskit', 'slirp4netns', 'dlv']);

/**
 * What a dev daemon can leave behind when it is killed instead of stopped:
 * its containerd and shims (their command lines name the exec-root), container
 * processes (their cgroup ends in the id of a container in our data-root; their
 * root is no help, a reader sees their pivoted "/"), docker-proxy processes
 * (they forward to a container address in the daemon's own /16) and mounts.
 * No other daemon uses the state folder or that /16. A rootless daemon's
 * rootlesskit and slirp4netns name the state folder too, and whatever runs in
 * rootlesskit's user namespace is found through it.
 */
export function processesUnder(stateDir: string, containerSubnet?: string): number[] {
  const prefix = `${stateDir}/`;
  const network = containerSubnet?.split('.').slice(0, 2).join('.');
  const spared = new Set([process.pid, process.ppid]);
  const containers = containerIds(stateDir);
  const ours = (pid: number): boolean => {
    if (containers.size > 0 && cgroupsOf(pid).some((line) => containers.has(line.slice(line.lastIndexOf('/') + 1)))) return true;
    const program = basename(exeOf(pid) ?? '');
    const argv = argvOf(pid);
    if (STACK.has(program)) return argv.some((arg) => arg.includes(prefix));
    return program === 'docker-proxy' && network !== undefined && (argv[argv.indexOf('-container-ip') + 1]?.startsWith(`${network}.`) ?? false);
  };
  // A zombie holds nothing but its pid; reaping it is its parent's (often init's) job.
  const found = allPids().filter((pid) => !spared.has(pid) && running(pid) && ours(pid));
  return [...found, ...namespaceMates(found).filter((pid) => !spared.has(pid))];
}

/** Ids of the containers in the daemon's data-root (dockerd keeps one folder per container). */
function containerIds(stateDir: string): Set<string> {
  try {
    return new Set(readdirSync(join(stateLayout(stateDir).dataRoot, 'containers')));
  } catch {
    return new Set();
  }
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
export async function killProcessesUnder(stateDir: string, containerSubnet?: string, graceMs = 2000): Promise<number[]> {
  const pids = processesUnder(stateDir, containerSubnet);
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

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
