import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { UserError } from '../core/errors.js';
import { run } from '../core/process.js';
import type { Env } from '../core/env.js';

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

/** A tool's version line (e.g. `cc --version`), part of the cache key of what it builds. */
export async function firstLineOf(argv: string[], env: Env): Promise<string> {
  const result = await run(argv, { env });
  return result.exitCode === 0 ? (result.stdout.split('\n')[0] ?? '').trim() : 'none';
}
