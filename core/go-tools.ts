import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from './errors.js';
import type { Env } from './env.js';
import { lastLine, run } from './process.js';

export interface GoTool {
  /** Module path of the main package, e.g. gotest.tools/gotestsum. */
  pkg: string;
  version: string;
  /** The binary `go install` writes (the last element of the package path). */
  binary: string;
}

/** delve at moby's DELVE_VERSION (v1.26.3); the module proxy serves v1.26.2 as the nearest release of that line. */
export const DELVE: GoTool = { pkg: 'github.com/go-delve/delve/cmd/dlv', version: 'v1.26.2', binary: 'dlv' };

/**
 * `go install pkg@version` into `<toolsDir>/<binary>@<version>/`, once. The
 * module comes through the module proxy and is checked against the checksum
 * database exactly as `go install` always does; GOTOOLCHAIN=local keeps go
 * from fetching a toolchain, and GOFLAGS from the caller cannot turn a
 * project's -mod=vendor into this install.
 */
export async function installGoTool(tool: GoTool, toolsDir: string, env: Env, signal?: AbortSignal): Promise<string> {
  const dir = join(toolsDir, `${tool.binary}@${tool.version}`);
  const binary = join(dir, tool.binary);
  if (existsSync(binary)) return binary;
  const staging = `${dir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const result = await run(['go', 'install', `${tool.pkg}@${tool.version}`], {
    env: { ...env, GOBIN: staging, GOTOOLCHAIN: 'local', GOFLAGS: '' },
    ...(signal ? { signal } : {}),
  });
  if (result.exitCode !== 0) {
    await rm(staging, { recursive: true, force: true });
    throw new UserError(
      `go install ${tool.pkg}@${tool.version} failed: ${lastLine(result.stderr)}`,
      'Check that the Go module proxy is reachable (go env GOPROXY).',
    );
  }
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  return binary;
}
