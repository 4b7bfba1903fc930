import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { StateLayout } from './layout.js';
import { underDebugger, type DebuggerLaunch } from './debug.js';
import type { BridgePlan } from './network.js';
import type { Env } from '../core/env.js';
import { SYSTEM_PATH } from '../core/requirements.js';

/** moby's integration daemon lowers the floor this far so old clients keep working. */
export const DEV_MIN_API_VERSION = '1.24';

/**
 * dockerd's argv: everything that isolates it first, then the user's flags.
 * --ip-forward-no-drop keeps dockerd from flipping the machine's FORWARD
 * policy to DROP, which would change networking for everything else on it.
 */
export function dockerdArgv(layout: StateLayout, bridge: BridgePlan | undefined, userArgs: readonly string[], env: Env): string[] {
  // Without a plan dockerd makes its default docker0 itself: only in a private network namespace.
  const networkArgs = bridge ? ['--bridge', bridge.name, '--default-address-pool', bridge.pool, '--ip-forward-no-drop'] : [];
  return isolatedArgv(layout, networkArgs, userArgs, env);
}

/** The state folder's paths and the user's flags around a network setup (a rootless daemon's network lives in rootlesskit's namespace). */
export function isolatedArgv(layout: StateLayout, networkArgs: readonly string[], userArgs: readonly string[], env: Env): string[] {
  const argv = [
    '--data-root',
    layout.dataRoot,
    '--exec-root',
    layout.execRoot,
    '--pidfile',
    layout.pidFile,
    '--host',
    `unix://${layout.socket}`,
    ...networkArgs,
  ];
  // Without it dockerd reads /etc/docker/daemon.json, the system daemon's settings.
  if (!userArgs.some((a) => a === '--config-file' || a.startsWith('--config-file='))) argv.push('--config-file', layout.configFile);
  const experimental = env.DOCKER_EXPERIMENTAL && env.DOCKER_EXPERIMENTAL !== '0';
  if (experimental && !userArgs.includes('--experimental')) argv.push('--experimental');
  return [...argv, ...userArgs];
}

/**
 * The bundle folder leads PATH so dockerd execs the bundled containerd, shim,
 * runc, docker-init and docker-proxy; the rest of PATH still provides iptables
 * (with the sbin folders added when missing) and friends. A systemd NOTIFY_SOCKET would make dockerd talk to systemd.
 */
export function dockerdEnv(bundleDir: string, env: Env): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && key !== 'NOTIFY_SOCKET') result[key] = value;
  const inherited = (env.PATH ?? '').split(delimiter).filter(Boolean);
  // iptables lives in sbin, which a non-login root shell may lack.
  const system = SYSTEM_PATH.split(delimiter).filter((dir) => !inherited.includes(dir));
  result.PATH = [bundleDir, ...inherited, ...system].join(delimiter);
  result.DOCKER_MIN_API_VERSION = env.DOCKER_MIN_API_VERSION ?? DEV_MIN_API_VERSION;
  return result;
}

export interface Launched {
  child: ChildProcess;
  /** Resolves with dockerd's exit code, or the signal that ended it (127: could not exec). */
  exited: Promise<number | NodeJS.Signals>;
  /** Set once it has exited. */
  exitStatus: () => number | NodeJS.Signals | undefined;
}

/**
 * Spawns the bundle's dockerd in its own session (so a terminal's Ctrl-C
 * reaches the supervisor, which decides how dockerd stops) with its output
 * in a file that is rewritten at each start.
 */
export function launchDockerd(
  layout: StateLayout,
  bundleDir: string,
  bridge: BridgePlan | undefined,
  userArgs: readonly string[],
  env: Env,
  logFile: string,
  debug?: DebuggerLaunch,
): Launched {
  const dockerd = join(bundleDir, 'dockerd');
  const argv = dockerdArgv(layout, bridge, userArgs, env);
  const [command, ...args] = debug ? underDebugger(debug, dockerd, argv) : [dockerd, ...argv];
  return spawnLogged(command as string, args, { cwd: layout.stateDir, env: dockerdEnv(bundleDir, env) }, logFile);
}

/** A daemon process in its own session with stdout and stderr in the log file (rewritten). */
export function spawnLogged(command: string, args: readonly string[], options: SpawnOptions, logFile: string): Launched {
  const logFd = openSync(logFile, 'w');
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let status: number | NodeJS.Signals | undefined;
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.once('exit', (code, signal) => resolve((status = code ?? signal ?? 1)));
    child.once('error', () => resolve((status = 127)));
  });
  return { child, exited, exitStatus: () => status };
}
