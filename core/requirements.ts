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
  env: Env;
  /** Told before apt-get runs, so the command can say what it installs and why. */
  onInstall: (packages: readonly string[]) => void;
}

export function installPolicy(env: Env, onInstall: (packages: readonly string[]) => void): InstallPolicy {
  const isRoot = process.getuid?.() === 0;
  const turnedOff = Boolean(env.MOBY_MAKE_NO_INSTALL);
  return { allowed: isRoot && !turnedOff && existsSync('/usr/bin/apt-get'), env, onInstall };
}

/**
 * Installs what is missing with apt-get when allowed (and says so), otherwise
 * fails with the exact command to run. Never touches the system's apt sources.
 */
export async function ensureRequirements(requirements: Requirement[], policy: InstallPolicy): Promise<string[]> {
  const { packages, reasons } = missingPackages(requirements, policy.env);
  if (packages.length === 0) return [];
  const command = aptInstallCommand(packages);
  if (!policy.allowed) {
    throw new UserError(`missing prerequisites: ${reasons.join(', ')}`, `Run as root: ${command}`);
  }
  policy.onInstall(packages);
  const aptEnv = { ...policy.env, DEBIAN_FRONTEND: 'noninteractive' };
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
