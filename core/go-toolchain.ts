import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from './errors.js';
import { askTool } from './tool-answers.js';
import type { Env } from './env.js';

type Release = readonly [major: number, minor: number, patch: number];

/**
 * A Go version's release numbers (go1.26.8 → 1.26.8; 1.26 and 1.26rc1 →
 * 1.26.0, a prerelease counted as its release). Go's versions are not
 * semver; this is the one comparison they are needed for, without a
 * library of fifty modules loaded by every command.
 */
function releaseOf(text: string): Release | undefined {
  const match = /^(?:go)?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)] : undefined;
}

function isOlder(found: Release, needed: Release): boolean {
  const at = found.findIndex((part, i) => part !== needed[i]);
  return at >= 0 && (found[at] as number) < (needed[at] as number);
}

/** `go env GOVERSION` → e.g. go1.26.8, and its release numbers (releaseOf). */
export async function detectGo(env: Env): Promise<{ raw: string; version: string }> {
  const result = await askTool(['go', 'env', 'GOVERSION'], env);
  const raw = result.stdout.trim();
  const release = releaseOf(raw);
  const version = release?.join('.');
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
  const needed = releaseOf(required);
  const have = releaseOf(found.version);
  if (needed && have && isOlder(have, needed)) {
    throw new UserError(
      `${component}: needs Go ${required} (its go.mod), found ${found.raw}`,
      `Install Go ${required} or newer and put it first on PATH; moby-make will not download a toolchain by itself.`,
    );
  }
}
