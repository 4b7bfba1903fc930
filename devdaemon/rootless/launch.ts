import { chownSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { Env } from '../../core/env.js';
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
): Launched {
  const identity = process.getuid?.() === user.uid ? {} : { uid: user.uid, gid: user.gid };
  const options = { ...identity, cwd: layout.stateDir, env: rootlessEnv(layout, bundleDir, user, env) };
  return spawnLogged(join(bundleDir, 'dockerd-rootless.sh'), isolatedArgv(layout, [], dockerdArgs, env), options, logFile);
}
