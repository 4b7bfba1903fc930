import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { UserError } from './errors.js';
import { askTool } from './tool-answers.js';
import type { Env } from './env.js';

/** `go env GOVERSION` → e.g. go1.26.8, and its semver form. */
export async function detectGo(env: Env): Promise<{ raw: string; version: string }> {
  const result = await askTool(['go', 'env', 'GOVERSION'], env);
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
  // docker/cli keeps its go.mod as vendor.mod and copies it in place to build.
  const goMod = ['go.mod', 'vendor.mod'].map((name) => join(moduleDir, name)).find((file) => existsSync(file));
  if (!goMod) return undefined;
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
