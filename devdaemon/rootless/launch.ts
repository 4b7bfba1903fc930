import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { Env } from '../../core/env.js';
import { quoteShellWord } from '../../core/shell-quote.js';
import { underDebugger, type DebuggerLaunch } from '../debug.js';
import { dockerdEnv, isolatedArgv, spawnLogged, type Launched } from '../command.js';
import type { StateLayout } from '../layout.js';
import { NETWORK_DRIVER } from './host-setup.js';
import { runAsUser, type RootlessUser } from './user.js';

/** The folders under the state folder only the rootless side uses. */
export function rootlessDirs(layout: StateLayout): { runtimeDir: string; home: string } {
  return { runtimeDir: join(layout.stateDir, 'run'), home: join(layout.stateDir, 'home') };
}

/**
 * dockerd-rootless.sh's environment, built from nothing so root's HOME and
 * friends do not leak: the bundle first on PATH (rootlesskit, dockerd,
 * containerd, the shim, runc, docker-init, docker-proxy), XDG_RUNTIME_DIR
 * (rootlesskit's state, its port API and the netns) and HOME inside the state
 * folder, so nothing lands in the user's ~/.local/share/docker. The user's
 * own DOCKERD_ROOTLESS_* settings pass through.
 */
export function rootlessEnv(layout: StateLayout, bundleDir: string, user: RootlessUser, env: Env): Record<string, string> {
  const base = dockerdEnv(bundleDir, env);
  const { runtimeDir, home } = rootlessDirs(layout);
  const passed = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[0].startsWith('DOCKERD_ROOTLESS_') && entry[1] !== undefined),
  );
  return {
    PATH: base.PATH ?? '',
    DOCKER_MIN_API_VERSION: base.DOCKER_MIN_API_VERSION ?? '',
    HOME: home,
    USER: user.name,
    LOGNAME: user.name,
    XDG_RUNTIME_DIR: runtimeDir,
    DOCKERD_ROOTLESS_ROOTLESSKIT_NET: NETWORK_DRIVER,
    DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER: 'builtin',
    ...passed,
  };
}

/**
 * The state folder, its runtime folder and home belong to the user: dockerd
 * creates the data-root, exec-root, socket and pidfile there as that user.
 * A data-root a rootful daemon made is root's and would fail obscurely later.
 */
export async function prepareStateFolder(layout: StateLayout, bundleDir: string, user: RootlessUser, env: Record<string, string>): Promise<void> {
  if (existsSync(layout.dataRoot) && statSync(layout.dataRoot).uid !== user.uid) {
    throw new UserError(
      `${layout.dataRoot} belongs to uid ${statSync(layout.dataRoot).uid}, not ${user.name}: a rootful dev daemon used this state folder`,
      'Use another --state DIR for the rootless one.',
    );
  }
  const { runtimeDir, home } = rootlessDirs(layout);
  for (const dir of [layout.stateDir, runtimeDir, home]) mkdirSync(dir, { recursive: true, mode: dir === layout.stateDir ? 0o711 : 0o700 });
  // Its config and log are the user's too, so the user can start it later without root; the record stays root's (and the bundles' digest memo, which that start reads).
  if (!existsSync(layout.configFile)) writeFileSync(layout.configFile, '{}\n');
  if (!existsSync(layout.logFile)) writeFileSync(layout.logFile, '');
  if (process.getuid?.() === 0) {
    for (const path of [layout.stateDir, runtimeDir, home, layout.configFile, layout.logFile]) if (existsSync(path)) chownSync(path, user.uid, user.gid);
  }
  const reach = await runAsUser(user, ['sh', '-c', 'test -x "$1" && test -w "$2"', 'reach', join(bundleDir, 'dockerd-rootless.sh'), layout.stateDir], env, '/');
  if (reach.exitCode !== 0) {
    throw new UserError(
      `${user.name} cannot run ${bundleDir}/dockerd-rootless.sh or write ${layout.stateDir}: a folder above them is closed to other users`,
      `Keep the checkout (or --bundles and --state) under folders ${user.name} can enter, e.g. /srv or /opt; the dev daemon does not change their permissions.`,
    );
  }
}

/** dockerd-rootless.sh as the user in its own session, its output (a shell trace, then rootlesskit's and dockerd's) in the log file. */
export function launchRootless(
  layout: StateLayout,
  bundleDir: string,
  user: RootlessUser,
  dockerdArgs: readonly string[],
  env: Env,
  logFile: string,
  debug?: DebuggerLaunch,
): Launched {
  const identity = process.getuid?.() === user.uid ? {} : { uid: user.uid, gid: user.gid };
  const underDelve = debug ? { DOCKERD: prepareDelve(layout, bundleDir, user, debug) } : {};
  const options = { ...identity, cwd: layout.stateDir, env: { ...rootlessEnv(layout, bundleDir, user, env), ...underDelve } };
  return spawnLogged(join(bundleDir, 'dockerd-rootless.sh'), isolatedArgv(layout, [], dockerdArgs, env), options, logFile);
}

/**
 * Where delve's API listens for a rootless dockerd: a unix socket in the
 * user's runtime folder (0700), which `dev-daemon` forwards to the loopback
 * port asked for. delve runs in rootlesskit's network namespace, whose
 * loopback the host cannot reach.
 */
export function rootlessDebugSocket(layout: StateLayout): string {
  return join(rootlessDirs(layout).runtimeDir, 'dlv.sock');
}

/**
 * dockerd-rootless.sh ends by exec-ing $DOCKERD with dockerd's arguments,
 * inside rootlesskit's namespaces: that is a script of the user's that runs
 * the bundle's dockerd under delve. delve is copied to the runtime folder,
 * since the tools cache is usually in root's closed home. delve's own
 * same-user check is off: in the user namespace, the forward's connection
 * (root's) is nobody's, and the socket's folder already shuts other users out.
 */
function prepareDelve(layout: StateLayout, bundleDir: string, user: RootlessUser, debug: DebuggerLaunch): string {
  const { runtimeDir } = rootlessDirs(layout);
  const dlv = join(runtimeDir, 'dlv');
  const wrapper = join(runtimeDir, 'dockerd-under-dlv');
  rmSync(rootlessDebugSocket(layout), { force: true }); // a killed delve's socket would refuse the new one's listen
  // Copied beside and renamed over: a delve a crash left running from the old copy cannot make the copy fail (ETXTBSY).
  copyFileSync(debug.dlv, `${dlv}.new`);
  renameSync(`${dlv}.new`, dlv);
  const argv = underDebugger({ dlv, listen: `unix:${rootlessDebugSocket(layout)}` }, join(bundleDir, 'dockerd'), [], false);
  writeFileSync(wrapper, `#!/bin/sh\nexec ${argv.map(quoteShellWord).join(' ')} "$@"\n`);
  for (const file of [dlv, wrapper]) {
    chmodSync(file, 0o755);
    if (process.getuid?.() === 0) chownSync(file, user.uid, user.gid);
  }
  return wrapper;
}
