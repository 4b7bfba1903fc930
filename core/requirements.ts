import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Env } from './env.js';
import { UserError } from './errors.js';
import { run } from './process.js';

/** What `command -v` finds for a program: an executable file in a folder of PATH (looked up here, as a round of the watch checks it every time). */
export function onPath(command: string, env: Env): boolean {
  return findOnPath(command, env) !== undefined;
}

/** The file `command -v` would run, if any. */
export function findOnPath(command: string, env: Env): string | undefined {
  const folders = (env.PATH ?? SYSTEM_PATH).split(delimiter).filter(Boolean);
  for (const folder of folders) {
    const path = join(folder, command);
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** The system's program folders, sbin included: what sh searches when PATH is unset. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A prerequisite on this machine: a build tool, or what the dev daemon runs. */
export type Requirement =
  { kind: 'go' } | { kind: 'command'; command: string; aptPackage: string; why: string } | { kind: 'file'; anyOf: string[]; aptPackage: string; why: string };

function satisfied(requirement: Requirement, env: Env): boolean {
  switch (requirement.kind) {
    case 'go':
      return true; // checked per component against its go.mod
    case 'command':
      return onPath(requirement.command, env);
    case 'file':
      return requirement.anyOf.some((path) => existsSync(path));
  }
}

export interface MissingPackages {
  /** Sorted, without duplicates. */
  packages: string[];
  /** `package (why)` per missing requirement. */
  reasons: string[];
}

/** The apt packages that would satisfy what is missing, for callers that gather several fixes into one message. */
export function missingPackages(requirements: readonly Requirement[], env: Env): MissingPackages {
  const missing: Requirement[] = [];
  for (const requirement of requirements) if (!satisfied(requirement, env)) missing.push(requirement);
  const packages = [...new Set(missing.flatMap((r) => (r.kind === 'go' ? [] : [r.aptPackage])))].sort();
  const reasons = [...new Set(missing.map((r) => (r.kind === 'go' ? '' : `${r.aptPackage} (${r.why})`)).filter(Boolean))];
  return { packages, reasons };
}

export function aptInstallCommand(packages: readonly string[]): string {
  return `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

export interface InstallPolicy {
  /** Whether apt-get may be used (root, Debian-like, not turned off). */
  allowed: boolean;
  /** Whether dpkg may gain an architecture for a multiarch package (`libseccomp-dev:arm64`): asked for once, with --allow-multiarch. */
  allowMultiarch: boolean;
  env: Env;
  /** Told before apt-get runs, so the command can say what it installs and why. */
  onInstall: (packages: readonly string[]) => void;
}

export function installPolicy(env: Env, onInstall: (packages: readonly string[]) => void): InstallPolicy {
  const isRoot = process.getuid?.() === 0;
  const turnedOff = Boolean(env.MOBY_MAKE_NO_INSTALL);
  return { allowed: isRoot && !turnedOff && existsSync('/usr/bin/apt-get'), allowMultiarch: Boolean(env.MOBY_MAKE_ALLOW_MULTIARCH), env, onInstall };
}

/** The last check of ensureRequirements: the next waits for it. */
let checking: Promise<unknown> = Promise.resolve();

/**
 * Installs what is missing with apt-get when allowed (and says so), otherwise
 * fails with the exact command to run. Never touches the system's apt sources.
 * Checks asked at once run one after another: dpkg takes one install at a
 * time, and the second finds what the first installed.
 */
export function ensureRequirements(requirements: Requirement[], policy: InstallPolicy): Promise<string[]> {
  const turn = checking.then(() => installMissing(requirements, policy));
  checking = turn.catch(() => undefined);
  return turn;
}

async function installMissing(requirements: Requirement[], policy: InstallPolicy): Promise<string[]> {
  const { packages, reasons } = missingPackages(requirements, policy.env);
  if (packages.length === 0) return [];
  const newArchitectures = await missingForeignArchitectures(packages);
  const addArchitectures = newArchitectures.map((architecture) => `dpkg --add-architecture ${architecture} && `).join('');
  const command = `${addArchitectures}${newArchitectures.length > 0 ? 'apt-get update && ' : ''}${aptInstallCommand(packages)}`;
  if (!policy.allowed) {
    throw new UserError(`missing prerequisites: ${reasons.join(', ')}`, `Run as root: ${command}`);
  }
  if (newArchitectures.length > 0 && !policy.allowMultiarch) {
    // Adding an architecture changes which package lists apt downloads (never the apt sources): only when asked for.
    throw new UserError(
      `${packages.filter((name) => newArchitectures.some((a) => name.endsWith(`:${a}`))).join(' ')} need Debian multiarch: dpkg has no ${newArchitectures.join(', ')} architecture yet`,
      `Run again with --allow-multiarch (it runs ${addArchitectures}apt-get update once; the apt sources stay as they are), or as root: ${command}`,
    );
  }
  const aptEnv = { ...policy.env, DEBIAN_FRONTEND: 'noninteractive' };
  policy.onInstall(packages);
  for (const architecture of newArchitectures) {
    const added = await run(['dpkg', '--add-architecture', architecture]);
    if (added.exitCode !== 0) throw new UserError(`dpkg --add-architecture ${architecture} failed: ${added.stderr.trim()}`, `Run as root: ${command}`);
  }
  if (newArchitectures.length > 0) await run(['apt-get', 'update'], { env: aptEnv });
  let result = await run(['apt-get', 'install', '-y', '--no-install-recommends', ...packages], { env: aptEnv });
  if (result.exitCode !== 0) {
    // A fresh machine often has no package lists yet.
    await run(['apt-get', 'update'], { env: aptEnv });
    result = await run(['apt-get', 'install', '-y', '--no-install-recommends', ...packages], { env: aptEnv });
  }
  if (result.exitCode !== 0) {
    throw new UserError(`apt-get could not install ${packages.join(' ')}: ${result.stderr.trim().split('\n').pop()}`, `Run as root: ${command}`);
  }
  return packages;
}

/** Debian multiarch: `name:arch` installs a library of another architecture, which dpkg must know first. */
async function missingForeignArchitectures(packages: readonly string[]): Promise<string[]> {
  const wanted = [...new Set(packages.flatMap((name) => name.split(':').slice(1)))];
  if (wanted.length === 0) return [];
  const known = (await run(['dpkg', '--print-foreign-architectures'])).stdout.split('\n').map((line) => line.trim());
  return wanted.filter((architecture) => !known.includes(architecture));
}

/** The version apt would install, or undefined when no configured source has the package (`apt-cache policy` says `(none)` or nothing). */
export async function aptCandidate(aptPackage: string, env: Env): Promise<string | undefined> {
  const policy = await run(['apt-cache', 'policy', aptPackage], { env });
  const candidate = /^\s*Candidate:\s*(\S+)/m.exec(policy.stdout)?.[1];
  return candidate && candidate !== '(none)' ? candidate : undefined;
}
