import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import type { Env } from '../core/env.js';
import { checkGoVersion, detectGo, requiredGo } from '../core/go-toolchain.js';
import { installGoTool, type GoTool } from '../core/go-tools.js';
import { run } from '../core/process.js';
import { goEnv } from './compile.js';

/** moby's pin (Dockerfile GOTESTSUM_VERSION at v2.0.0-beta.21). */
export const GOTESTSUM: GoTool = { pkg: 'gotest.tools/gotestsum', version: 'v1.13.0', binary: 'gotestsum' };

/**
 * The `registry` binary moby's dev container copies from the
 * distribution/distribution:${REGISTRY_VERSION} image (3.1.1 at
 * v2.0.0-beta.21); tests that push and pull start it from PATH
 * (internal/testutil/registry). Built from its module instead of an image.
 */
export const TEST_REGISTRY: GoTool = { pkg: 'github.com/distribution/distribution/v3/cmd/registry', version: 'v3.1.1', binary: 'registry' };

export interface GoSetup {
  goBinary: string;
  goarch: string;
  gocache: string;
  gopath: string;
  gotestsum: string;
}

/**
 * The checks `make` does before building (Go at least the source's go.mod
 * version, never a downloaded toolchain), then gotestsum built from the
 * module proxy into the cache's tools folder.
 */
export async function prepareGo(sourceDir: string, cacheDir: string, env: Env, signal?: AbortSignal): Promise<GoSetup> {
  checkGoVersion('moby tests', await requiredGo(sourceDir), await detectGo(env));
  const values = await run(['go', 'env', 'GOROOT', 'GOARCH', 'GOCACHE', 'GOPATH'], { env: goEnv(env) });
  const [goroot, goarch, gocache, gopath] = values.stdout.trim().split('\n');
  if (values.exitCode !== 0 || !goroot || !goarch || !gocache || !gopath) throw new UserError(`go env failed: ${values.stderr.trim()}`);
  const gotestsum = await installGoTool(GOTESTSUM, join(cacheDir, 'tools'), env, signal);
  return { goBinary: join(goroot, 'bin', 'go'), goarch, gocache, gopath, gotestsum };
}
