import { chmodSync } from 'node:fs';
import { UserError, joinLines } from '../../core/errors.js';
import type { Env } from '../../core/env.js';
import type { Listener } from '../../core/events.js';
import { run } from '../../core/process.js';
import { aptInstallCommand, ensureRequirements, missingPackages, type InstallPolicy, type Requirement } from '../../core/requirements.js';
import type { RootlessEvent } from './events.js';
import { missingSubids, usermodArgv } from './subids.js';
import { octal, TUN_DEVICE, TUN_MODE, tunModeToFix } from './tun.js';
import { chooseUser, isRoot, lookUpUser, useraddArgv, type RootlessUser } from './user.js';

/**
 * slirp4netns rather than rootlesskit's built-in gvisor-tap-vsock: both need
 * /dev/net/tun here, but rootlesskit calls gvisor-tap-vsock experimental and
 * cannot honour --disable-host-loopback with it, so containers could reach
 * services on the host's 127.0.0.1; slirp4netns blocks that. Both start in
 * the same time here (npm run bench), so that decides it.
 */
export const NETWORK_DRIVER = 'slirp4netns';

const ROOTLESS_NEEDS: Requirement[] = [
  { kind: 'command', command: 'newuidmap', aptPackage: 'uidmap', why: 'rootlesskit maps the subordinate uids and gids with newuidmap and newgidmap' },
  { kind: 'command', command: 'newgidmap', aptPackage: 'uidmap', why: 'rootlesskit maps the subordinate uids and gids with newuidmap and newgidmap' },
  { kind: 'command', command: NETWORK_DRIVER, aptPackage: NETWORK_DRIVER, why: "the rootless daemon's network driver" },
  { kind: 'command', command: 'iptables', aptPackage: 'iptables', why: 'dockerd programs container networking inside its namespace with it' },
  { kind: 'command', command: 'nsenter', aptPackage: 'util-linux', why: 'dockerd-rootless.sh enters the network namespace with it' },
];

/**
 * The account to run as: the caller when not root, else --user or the
 * dedicated one, created when missing (and said so). Without leave to change
 * the machine, a missing account fails with every command root has to run.
 */
export async function prepareUser(requested: string | undefined, policy: InstallPolicy, env: Env, onEvent: Listener<RootlessEvent>): Promise<RootlessUser> {
  const chosen = await chooseUser(requested, env);
  if (chosen.user) return chosen.user;
  if (!policy.allowed) throw refusal(chosen.name, [useraddArgv(chosen.name), ...hostFixes(chosen.name, undefined, policy)], policy);
  return createUser(chosen.name, env, onEvent);
}

/**
 * Makes the machine ready for a rootless daemon as the user: its subordinate
 * id ranges, uidmap and the network driver, and an openable /dev/net/tun.
 * Root with installing allowed does it and says so; anyone else gets one
 * error with every command root has to run. Says whether it changed anything.
 */
export async function prepareHost(user: RootlessUser, policy: InstallPolicy, env: Env, onEvent: Listener<RootlessEvent>): Promise<boolean> {
  if (!policy.allowed) {
    const fixes = hostFixes(user.name, user, policy);
    if (fixes.length > 0) throw refusal(user.name, fixes, policy);
    return false;
  }
  let changed = (await ensureRequirements(ROOTLESS_NEEDS, policy)).length > 0;
  const subids = missingSubids(user.name, user.uid);
  if (subids.length > 0) {
    const argv = usermodArgv(user.name, subids);
    await mustRun(argv, env, `could not give ${user.name} subordinate ids`);
    onEvent({ type: 'subids-added', user: user.name, command: argv.join(' ') });
    changed = true;
  }
  const tunMode = tunModeToFix(user.uid, user.gid);
  if (tunMode !== undefined) {
    chmodSync(TUN_DEVICE, TUN_MODE);
    onEvent({ type: 'tun-mode-changed', device: TUN_DEVICE, from: octal(tunMode), to: octal(TUN_MODE), user: user.name });
    changed = true;
  }
  return changed;
}

/** The commands root would run for this user (an account not created yet counts as "other" for the device's mode). */
function hostFixes(name: string, user: RootlessUser | undefined, policy: InstallPolicy): string[][] {
  const fixes: string[][] = [];
  const { packages } = missingPackages(ROOTLESS_NEEDS, policy.env);
  if (packages.length > 0) fixes.push(aptInstallCommand(packages).split(' '));
  const subids = missingSubids(name, user?.uid);
  if (subids.length > 0) fixes.push(usermodArgv(name, subids));
  if (tunModeToFix(user?.uid ?? -1, user?.gid ?? -1) !== undefined) fixes.push(['chmod', octal(TUN_MODE), TUN_DEVICE]);
  return fixes;
}

async function createUser(name: string, env: Env, onEvent: Listener<RootlessEvent>): Promise<RootlessUser> {
  await mustRun(useraddArgv(name), env, `could not create the user ${name}`);
  const user = await lookUpUser(name, env);
  if (!user) throw new UserError(`useradd created ${name} but getent does not find it`);
  onEvent({ type: 'rootless-user-created', user: name, uid: user.uid });
  return user;
}

async function mustRun(argv: string[], env: Env, what: string): Promise<void> {
  const result = await run(argv, { env });
  if (result.exitCode !== 0) throw new UserError(`${what}: ${argv.join(' ')}: ${result.stderr.trim()}`);
}

function refusal(name: string, fixes: string[][], policy: InstallPolicy): UserError {
  const why = !isRoot()
    ? ' (only root can)'
    : policy.env.MOBY_MAKE_NO_INSTALL
      ? ' (installing is turned off: --no-install or MOBY_MAKE_NO_INSTALL)'
      : ' (apt-get is not here)';
  return new UserError(
    `a rootless dev daemon as ${name} needs set-up this command does not do${why}`,
    `Run as root:\n${joinLines(fixes.map((argv) => argv.join(' ')))}\nthen start it again.`,
  );
}
