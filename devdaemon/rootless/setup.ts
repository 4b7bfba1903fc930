import { UserError, joinLines } from '../../core/errors.js';
import type { Env } from '../../core/env.js';
import type { Listener } from '../../core/events.js';
import type { InstallPolicy } from '../../core/requirements.js';
import type { StateLayout } from '../layout.js';
import { iptablesWorksInUserNamespace, onlyAsksForIptablesModule, runSetupCheck } from './check.js';
import type { RootlessEvent } from './events.js';
import { prepareHost, prepareUser } from './host-setup.js';
import { prepareStateFolder, rootlessEnv } from './launch.js';
import type { RootlessUser } from './user.js';

/**
 * Everything before the launch: the account, its state folder, upstream's
 * own `dockerd-rootless-setuptool.sh check` (run first, its complaints shown),
 * then what the machine lacks, then the check again when that changed
 * anything: it must pass, or ask
 * only for a kernel module that iptables in a user namespace proves is there.
 */
export async function setUpRootless(
  layout: StateLayout,
  bundleDir: string,
  requestedUser: string | undefined,
  policy: InstallPolicy,
  env: Env,
  onEvent: Listener<RootlessEvent>,
): Promise<RootlessUser> {
  const user = await prepareUser(requestedUser, policy, env, onEvent);
  const userEnv = rootlessEnv(layout, bundleDir, user, env);
  await prepareStateFolder(layout, bundleDir, user, userEnv);
  let check = await runSetupCheck(bundleDir, user, userEnv, layout.stateDir);
  if (!check.passed) onEvent({ type: 'rootless-check-failed', output: check.output });
  const changed = await prepareHost(user, policy, env, onEvent);
  if (check.passed) return user;
  if (changed) check = await runSetupCheck(bundleDir, user, userEnv, layout.stateDir);
  if (check.passed) return user;
  const probe = onlyAsksForIptablesModule(check) ? await iptablesWorksInUserNamespace(user, userEnv, layout.stateDir) : undefined;
  if (probe?.works) {
    onEvent({
      type: 'rootless-check-overridden',
      asked: check.commands,
      evidence: `iptables -t nat -L works as ${user.name} in a new user and network namespace`,
    });
    return user;
  }
  throw new UserError(
    `dockerd-rootless-setuptool.sh check still fails for ${user.name}:\n${joinLines(check.output)}`,
    probe
      ? `iptables in a user namespace failed too (${probe.detail}); load the module it names, as root.`
      : 'Run the commands it prints as root, then start again.',
  );
}
