import { execFile } from 'node:child_process';
import { UserError } from '../../core/errors.js';
import { run } from '../../core/process.js';
import type { Env } from '../../core/env.js';

/** The unprivileged account a rootless dev daemon runs as. */
export interface RootlessUser {
  name: string;
  uid: number;
  gid: number;
}

/** Created when root starts a rootless daemon without --user: a system account with no login and no home. */
export const DEDICATED_USER = 'mmk-rootless';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The account from the passwd database (so LDAP and friends count), or undefined. */
export async function lookUpUser(name: string, env: Env): Promise<RootlessUser | undefined> {
  const entry = await run(['getent', 'passwd', name], { env });
  if (entry.exitCode !== 0) return undefined;
  const [login = '', , uid = '', gid = ''] = entry.stdout.trim().split(':');
  return { name: login, uid: Number(uid), gid: Number(gid) };
}

export function useraddArgv(name: string): string[] {
  return ['useradd', '--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name];
}

/**
 * Root names the user with --user or gets the dedicated one; anyone else runs
 * as themselves (a rootless daemon cannot run as another account without root).
 */
export async function chooseUser(requested: string | undefined, env: Env): Promise<{ user?: RootlessUser; name: string }> {
  if (!isRoot()) {
    const self = await lookUpUser(String(process.getuid?.()), env);
    if (!self) throw new UserError(`uid ${process.getuid?.()} has no passwd entry; newuidmap needs one`);
    if (requested !== undefined && requested !== self.name) {
      throw new UserError(`--user ${requested}: only root can start a daemon as another user`, `Run without --user to run it as ${self.name}, or as root.`);
    }
    return { user: self, name: self.name };
  }
  const name = requested ?? DEDICATED_USER;
  if (name === 'root') throw new UserError('--user root: a rootless daemon runs as an unprivileged user', 'Name another account, or leave out --user.');
  const user = await lookUpUser(name, env);
  if (!user && requested !== undefined)
    throw new UserError(`--user ${requested}: no such user`, `Create it (${useraddArgv(requested).join(' ')}) or leave out --user.`);
  if (user?.uid === 0) throw new UserError(`--user ${name} has uid 0; a rootless daemon needs an unprivileged account`);
  return { ...(user ? { user } : {}), name };
}

export interface AsUserResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs argv as the user (switching only when we are someone else), with exactly the given environment. */
export function runAsUser(user: RootlessUser, argv: readonly string[], env: Record<string, string>, cwd?: string): Promise<AsUserResult> {
  const [command, ...args] = argv;
  if (!command) throw new Error('runAsUser: empty argv');
  const identity = process.getuid?.() === user.uid ? {} : { uid: user.uid, gid: user.gid };
  return new Promise((resolve) => {
    execFile(command, args, { ...identity, env, ...(cwd ? { cwd } : {}), maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error && typeof error.code === 'number' ? error.code : error ? 127 : 0;
      resolve({ exitCode: code, stdout, stderr });
    });
  });
}
