import { spawn, type ChildProcess } from 'node:child_process';
import { childrenOf } from '../core/procfs.js';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Env } from '../core/env.js';
import { startUplink, UPLINK_DEVICE } from './uplink.js';

/**
 * moby's harness assumes the machine is its dev container: the default bridge
 * docker0, the main daemon's containerd at /var/run/docker/containerd/containerd.sock,
 * sockets under /tmp/docker-integration, iptables of its own. We make all of
 * that true in namespaces of ours instead of on the host:
 *
 * - `unshare --mount --net --pid --uts`: private mounts, network, process tree
 *   and hostname (a container's: twelve hex digits);
 *   the host's outbound network reaches in only through slirp4netns (uplink.ts).
 *   The kernel ends every process in the PID namespace when its init ends,
 *   and the mounts, bridges and iptables rules go with the last process, so
 *   nothing can outlive a run, not even after SIGKILL.
 * - init is the bundle's docker-init (tini): it reaps orphaned shims and
 *   forwards SIGTERM to the runner inside.
 * - setpriv --pdeathsig: if the command outside dies, unshare dies, and
 *   --kill-child takes the namespace with it.
 * - inside: / shared again, but only among the copies in this namespace (as
 *   on a systemd host; tests of mount propagation need it); loopback up; a sysfs of the new network namespace (the cgroup
 *   mounts kept); a fresh tmpfs on /run, with the test daemon's exec-root
 *   bound at /run/docker; a fresh tmpfs on /tmp, where only the folders the
 *   run needs stay visible (and TMPDIR, made again if they hid it); over the source tree, when it is the module
 *   cache or a cached checkout, an overlay that throws the tests' writes away.
 */
export interface NamespacePlan {
  /** Folders the inside needs (bundles, sources, caches, this project); those under /tmp stay visible in its private /tmp. */
  keep: readonly string[];
  /** Bound onto /run/docker (the test daemon's exec-root), when a daemon runs. */
  execRoot?: string;
  /**
   * Trees that must not change (the module cache, a cached checkout) but
   * that moby's tests write into as they do in a checkout: an overlay whose
   * writable layer is a tmpfs that goes with the namespace.
   */
  overlaid: readonly string[];
  /** The bundle's docker-init. */
  init: string;
  /**
   * The UTS namespace's hostname. moby's dev container has its container's:
   * twelve hex digits, and tests lean on it (TestSwarmNodeListFilter filters
   * nodes by its first four characters, which a short host name lacks).
   */
  hostname: string;
}

const SETUP = `set -eu
exec_root=$1 host_name=$2 overlay_count=$3
shift 3
hostname "$host_name"
ip link set lo up
# The uplink (testrunner/uplink.ts) is configured from outside; tests start once it is there, or without it after 10 s, saying so.
tries=0
until ip route show default | grep -q ${UPLINK_DEVICE}; do
  tries=$((tries + 1))
  if [ "$tries" -gt 200 ]; then echo "no uplink after 10 s: tests that reach the network from containers will fail"; break; fi
  sleep 0.05
done
mount -t tmpfs -o mode=0755 mmk-run /run
mkdir -p /run/lock /run/mmk-cgroup /run/mmk-tmp
layer=0
while [ "$overlay_count" -gt 0 ]; do
  layer=$((layer + 1))
  mkdir -p "/run/mmk-overlay/$layer/upper" "/run/mmk-overlay/$layer/work"
  mount -t overlay mmk-src -o "lowerdir=$1,upperdir=/run/mmk-overlay/$layer/upper,workdir=/run/mmk-overlay/$layer/work" "$1"
  shift
  overlay_count=$((overlay_count - 1))
done
keep_count=$1
shift
mount --rbind /sys/fs/cgroup /run/mmk-cgroup
mount -t sysfs sysfs /sys
mount --rbind /run/mmk-cgroup /sys/fs/cgroup
umount -l /run/mmk-cgroup
if [ -n "$exec_root" ]; then
  mkdir -p "$exec_root" /run/docker
  mount --bind "$exec_root" /run/docker
fi
mount --rbind /tmp /run/mmk-tmp
mount -t tmpfs -o mode=1777 mmk-tmp /tmp
while [ "$keep_count" -gt 0 ]; do
  mkdir -p "$1"
  mount --rbind "/run/mmk-tmp/\${1#/tmp/}" "$1"
  shift
  keep_count=$((keep_count - 1))
done
umount -l /run/mmk-tmp
rmdir /run/mmk-cgroup /run/mmk-tmp
# A TMPDIR that the fresh /run or /tmp hides (the machine image gives its jobs one under /run) is there again, empty as /tmp is: dockerd makes its temporary folders in it.
if [ -n "\${TMPDIR:-}" ] && [ ! -d "$TMPDIR" ]; then
  mkdir -p "$TMPDIR"
  chmod 1777 "$TMPDIR"
fi
# Shared among our own mounts only (unshare made every mount private first), as / is on a systemd host: some tests need it.
mount --make-rshared /
exec "$@"
`;

export function namespaceArgv(plan: NamespacePlan, command: readonly string[]): string[] {
  const underTmp = [...new Set(plan.keep.filter((dir) => dir.startsWith('/tmp/')).map((dir) => `/tmp/${dir.split('/')[2] ?? ''}`))];
  return [
    'setpriv',
    '--pdeathsig',
    'KILL',
    '--',
    'unshare',
    '--mount',
    '--net',
    '--pid',
    '--uts',
    '--fork',
    '--kill-child',
    '--mount-proc',
    '--propagation',
    'private',
    '--',
    plan.init,
    '-s',
    '--',
    '/bin/sh',
    '-c',
    SETUP,
    'mmk-namespace',
    plan.execRoot ?? '',
    plan.hostname,
    String(plan.overlaid.length),
    ...plan.overlaid,
    String(underTmp.length),
    ...underTmp,
    ...command,
  ];
}

export interface InNamespace {
  child: ChildProcess;
  /** Resolves with the exit code (128 + n for a signal). */
  exited: Promise<number>;
  /** A line to the inside's standard input. */
  tell: (line: string) => void;
  /** SIGTERM to the runner inside (through init), then after `graceMs` SIGKILL to the whole namespace. */
  stop: (graceMs: number) => Promise<void>;
}

/**
 * Runs `command` inside fresh namespaces; each line it prints on stdout goes
 * to `onLine`, its stderr to `onError`.
 */
export function runInNamespace(
  plan: NamespacePlan,
  command: readonly string[],
  env: Env,
  onLine: (line: string) => void,
  onError: (line: string) => void,
): InNamespace {
  const [program, ...args] = namespaceArgv(plan, command);
  // Its own process group: a terminal's Ctrl-C reaches only the command outside, which stops the inside in order.
  const child = spawn(program as string, args, { env: env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const uplink = child.pid === undefined ? undefined : startUplink(child.pid, env, onLine);
  child.once('exit', () => uplink?.stop());
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onError);
  let done = false;
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? 128 + (signal ? signalNumber(signal) : 1));
    });
    child.once('error', () => {
      done = true;
      resolve(127);
    });
  });
  const stop = async (graceMs: number) => {
    if (done || child.pid === undefined) return;
    for (const pid of descendants(child.pid, 2)) signal(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (!done && Date.now() < deadline) await sleep(100);
    if (!done) signal(child.pid, 'SIGKILL'); // unshare --kill-child then kills init, and the kernel the rest
    await exited;
  };
  const tell = (line: string) => void child.stdin.write(`${line}\n`);
  child.stdin.on('error', () => undefined); // the inside may be gone already
  return { child, exited, stop, tell };
}

/** setpriv execs unshare in place; unshare's child is init, whose child is the runner. */
function descendants(pid: number, depth: number): number[] {
  const children = childrenOf(pid);
  if (depth <= 1) return children;
  return [...children, ...children.flatMap((child) => descendants(child, depth - 1))];
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

function signalNumber(name: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return numbers[name] ?? 1;
}
