import { join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import type { Env } from '../core/env.js';

/**
 * Everything one dev daemon owns lives under one state folder, so it never
 * shares /var/lib/docker, /var/run/docker.sock or a system containerd with a
 * Docker installed on the machine, and so cleaning up means "nothing of ours
 * under this folder".
 */
export interface StateLayout {
  stateDir: string;
  dataRoot: string;
  execRoot: string;
  pidFile: string;
  socket: string;
  /** dockerd's own --config-file; `reload` makes it re-read this file. */
  configFile: string;
  /** Default log destination when the user names none. */
  logFile: string;
  /** What the supervisor knows about the running daemon (bridge, socket, start time). */
  metaFile: string;
  /** The managed containerd dockerd starts under its exec-root. */
  containerdSocket: string;
}

/** sun_path is 108 bytes on Linux including the terminating NUL. */
const UNIX_PATH_MAX = 107;

export function stateLayout(stateDir: string): StateLayout {
  const dir = resolve(stateDir);
  const execRoot = join(dir, 'exec');
  const layout: StateLayout = {
    stateDir: dir,
    dataRoot: join(dir, 'root'),
    execRoot,
    pidFile: join(dir, 'docker.pid'),
    socket: join(dir, 'docker.sock'),
    configFile: join(dir, 'daemon.json'),
    logFile: join(dir, 'dockerd.log'),
    metaFile: join(dir, 'dev-daemon.json'),
    containerdSocket: join(execRoot, 'containerd', 'containerd.sock'),
  };
  // containerd also creates containerd.sock.ttrpc and containerd-debug.sock beside it.
  const longest = join(execRoot, 'containerd', 'containerd.sock.ttrpc');
  if (longest.length > UNIX_PATH_MAX) {
    throw new UserError(
      `the state folder ${dir} is too deep for unix sockets (${longest.length} > ${UNIX_PATH_MAX} bytes)`,
      'Pick a shorter one with --state DIR or MOBY_DEV_DAEMON_STATE.',
    );
  }
  return layout;
}

/** Inside the bundles root by default (already git-ignored), beside the bundle it runs; a rootless one beside the rootful one. */
export function defaultStateDir(bundlesRoot: string, env: Env, rootless = false): string {
  return resolve(env.MOBY_DEV_DAEMON_STATE ?? join(bundlesRoot, rootless ? 'dev-daemon-rootless' : 'dev-daemon'));
}

export function dockerHostOf(layout: StateLayout): string {
  return `unix://${layout.socket}`;
}
