import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Env } from '../core/env.js';
import { childrenOf, running } from '../core/procfs.js';

/**
 * The tests' network namespace gets the same outbound network the host has,
 * as moby's dev container does (tests run apt-get in containers), through
 * slirp4netns: a user-space NAT that lives in a process of ours, so the host
 * gains no interface, route or iptables rule, and the uplink ends with that
 * process. Host loopback stays out of reach (--disable-host-loopback), so a
 * test cannot talk to services on the host's 127.0.0.1. The device is eth0,
 * as in the dev container: networking tests add addresses to "eth0".
 */
export const UPLINK_DEVICE = 'eth0';

/**
 * 10.0.2.0/24 (slirp's default) is a subnet moby's network tests create
 * themselves; this one (carrier-grade NAT space) is used by none of them.
 */
export const UPLINK_CIDR = '100.115.92.0/24';

export interface Uplink {
  stop: () => void;
}

/**
 * Starts slirp4netns for the network namespace of `unsharePid`'s first
 * child (unshare forks the process that owns the new namespaces). Its exit
 * pipe is ours: if this process dies, slirp4netns ends with it.
 */
export function startUplink(unsharePid: number, env: Env, onProblem: (text: string) => void): Uplink {
  let child: ReturnType<typeof spawn> | undefined;
  let stopped = false;
  void (async () => {
    const inside = await firstChild(unsharePid);
    if (inside === undefined || stopped) return;
    const args = ['--configure', '--mtu=65520', '--disable-host-loopback', `--cidr=${UPLINK_CIDR}`, '--exit-fd=3', String(inside), UPLINK_DEVICE];
    child = spawn('slirp4netns', args, { env, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    child.once('error', (error) => onProblem(`slirp4netns could not start: ${error.message}`));
    child.once('exit', (code) => {
      if (!stopped && code !== 0) onProblem(`slirp4netns exited (${code ?? 'signal'}): ${stderr.join('').trim().split('\n').pop() ?? ''}`);
    });
  })();
  return {
    stop: () => {
      stopped = true;
      child?.kill('SIGTERM');
    },
  };
}

async function firstChild(pid: number): Promise<number | undefined> {
  for (let attempt = 0; attempt < 100 && running(pid); attempt += 1) {
    const [child] = childrenOf(pid);
    if (child !== undefined) return child;
    await sleep(20);
  }
  return undefined;
}
