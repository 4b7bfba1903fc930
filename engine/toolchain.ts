import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { UserError } from './errors.js';
import type { Requirement } from './model.js';
import { run } from './process.js';

type Env = Readonly<Record<string, string | undefined>>;

/** `go env GOVERSION` → e.g. go1.26.8, and its semver form. */
export async function detectGo(env: Env): Promise<{ raw: string; version: string }> {
  const result = await run(['go', 'env', 'GOVERSION'], { env });
  const raw = result.stdout.trim();
  const version = semver.coerce(raw.replace(/^go/, ''))?.version;
  if (result.exitCode !== 0 || !version) {
    throw new UserError(
      `Go is required but \`go env GOVERSION\` ${result.exitCode === 127 ? 'was not found on PATH' : `printed '${raw || result.stderr.trim()}'`}`,
      'Install Go (moby builds with Go 1.26) and put its bin directory first on PATH.',
    );
  }
  return { raw, version };
}

/** The `go` directive of a module's go.mod, e.g. 1.26.3. */
export async function requiredGo(moduleDir: string): Promise<string | undefined> {
  const goMod = join(moduleDir, 'go.mod');
  if (!existsSync(goMod)) return undefined;
  const match = /^go\s+(\S+)\s*$/m.exec(await readFile(goMod, 'utf8'));
  return match?.[1];
}

export function checkGoVersion(component: string, required: string | undefined, found: { raw: string; version: string }): void {
  if (!required) return;
  const needed = semver.coerce(required)?.version;
  if (needed && semver.lt(found.version, needed)) {
    throw new UserError(
      `${component}: needs Go ${required} (its go.mod), found ${found.raw}`,
      `Install Go ${required} or newer and put it first on PATH; moby-make will not download a toolchain by itself.`,
    );
  }
}

function satisfied(requirement: Requirement, env: Env): Promise<boolean> | boolean {
  switch (requirement.kind) {
    case 'go':
      return true; // checked per component against its go.mod
    case 'command':
      return run(['sh', '-c', `command -v ${requirement.command}`], { env }).then((r) => r.exitCode === 0);
    case 'file':
      return requirement.anyOf.some((path) => existsSync(path));
  }
}

export interface InstallPolicy {
  /** Whether apt-get may be used (root, Debian-like, not turned off). */
  allowed: boolean;
  env: Env;
  say: (line: string) => void;
}

export function installPolicy(env: Env, say: (line: string) => void): InstallPolicy {
  const isRoot = process.getuid?.() === 0;
  const turnedOff = Boolean(env.MOBY_MAKE_NO_INSTALL);
  return { allowed: isRoot && !turnedOff && existsSync('/usr/bin/apt-get'), env, say };
}

/**
 * Installs what is missing with apt-get when allowed (and says so), otherwise
 * fails with the exact command to run. Never touches the system's apt sources.
 */
export async function ensureRequirements(requirements: Requirement[], policy: InstallPolicy): Promise<string[]> {
  const missing: Requirement[] = [];
  for (const requirement of requirements) if (!(await satisfied(requirement, policy.env))) missing.push(requirement);
  const packages = [...new Set(missing.flatMap((r) => (r.kind === 'go' ? [] : [r.aptPackage])))].sort();
  if (packages.length === 0) return [];
  const reasons = missing.map((r) => (r.kind === 'go' ? '' : `${r.aptPackage} (${r.why})`)).filter(Boolean);
  const command = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  if (!policy.allowed) {
    throw new UserError(`missing prerequisites: ${[...new Set(reasons)].join(', ')}`, `Run as root: ${command}`);
  }
  policy.say(`installing missing prerequisites with apt-get: ${packages.join(' ')} (set MOBY_MAKE_NO_INSTALL=1 to turn this off)`);
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

/** A tool's version line (e.g. `cc --version`), part of the cache key of what it builds. */
export async function firstLineOf(argv: string[], env: Env): Promise<string> {
  const result = await run(argv, { env });
  return result.exitCode === 0 ? (result.stdout.split('\n')[0] ?? '').trim() : 'none';
}
