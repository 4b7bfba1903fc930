import { join } from 'node:path';
import { runAsUser, type RootlessUser } from './user.js';

export interface SetupCheck {
  passed: boolean;
  /** The commands it asks root to run (its `sudo sh -eux` block), comments left out. */
  commands: string[];
  /** Everything it printed, colour codes removed, for the user to read. */
  output: string[];
}

/** The tool colours its ERROR prefix. */
const COLOUR_CODES = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** `dockerd-rootless-setuptool.sh check` from the bundle, as the user, with the daemon's environment. */
export async function runSetupCheck(bundleDir: string, user: RootlessUser, env: Record<string, string>, cwd: string): Promise<SetupCheck> {
  const result = await runAsUser(user, [join(bundleDir, 'dockerd-rootless-setuptool.sh'), 'check'], env, cwd);
  const output = `${result.stdout}\n${result.stderr}`
    .replace(COLOUR_CODES, '')
    .split('\n')
    .filter((line) => line.trim() !== '');
  return { passed: result.exitCode === 0, commands: commandsIn(output), output };
}

/** The lines between `sudo sh -eux <<EOF` and `EOF`, without comments. */
export function commandsIn(output: readonly string[]): string[] {
  const start = output.findIndex((line) => line.startsWith('sudo sh -eux <<EOF'));
  if (start < 0) return [];
  const end = output.indexOf('EOF', start + 1);
  return output.slice(start + 1, end < 0 ? undefined : end).filter((line) => !line.trimStart().startsWith('#'));
}

/**
 * The tool looks for the nf_tables (or ip_tables) module only in /proc/modules
 * and /lib/modules/$(uname -r)/modules.builtin. A kernel with netfilter built in
 * and no /lib/modules (a VM's kernel) fails that test while iptables works.
 */
export function onlyAsksForIptablesModule(check: SetupCheck): boolean {
  return check.commands.length > 0 && check.commands.every((command) => /^modprobe (nf_tables|ip_tables)$/.test(command.trim()));
}

/**
 * What the module check stands for, tested directly: iptables as the user's
 * namespace root in a fresh user and network namespace, as dockerd will run it.
 */
export async function iptablesWorksInUserNamespace(user: RootlessUser, env: Record<string, string>, cwd: string): Promise<{ works: boolean; detail: string }> {
  const result = await runAsUser(user, ['unshare', '--user', '--map-root-user', '--net', 'iptables', '-w', '-t', 'nat', '-L', '-n'], env, cwd);
  return { works: result.exitCode === 0, detail: (result.stderr || result.stdout).trim().split('\n').pop() ?? '' };
}
