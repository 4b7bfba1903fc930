import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import type { Env } from '../core/env.js';
import { run } from '../core/process.js';
import { splitWords } from './options.js';

/**
 * hack/make.sh's BUILDFLAGS and LDFLAGS, which build_test_suite_binary passes
 * to `go test -c`; for delve, what `dlv test` builds with (optimisations
 * and inlining off, DWARF kept).
 */
export function mobyTestBuildFlags(env: Env, forDebugger = false): string[] {
  const tags = ['netgo', 'osusergo', 'static_build', 'nri_no_wasm', ...splitWords(env.DOCKER_BUILDTAGS)].join(' ');
  const ldflags = env.DOCKER_DEBUG || forDebugger ? '' : '-w';
  return ['-tags', tags, '-ldflags', ldflags, ...(forDebugger ? ['-gcflags=all=-N -l'] : [])];
}

/** The environment every `go` of the runner gets: never a downloaded toolchain, never the caller's GOFLAGS (-mod=vendor would break module mode). */
export function goEnv(env: Env): Record<string, string | undefined> {
  return { ...env, GOTOOLCHAIN: 'local', GOFLAGS: '' };
}

/**
 * A folder of test binaries compiled elsewhere for this very run, by
 * report stem (`<stem>/test.main`): test-integration --vm compiles them on
 * the host, at native speed, and the run inside the guest takes them, as a
 * CI job runs binaries another job built.
 */
export const PREBUILT_TESTS_VARIABLE = 'MOBY_MAKE_PREBUILT_TESTS';

/** The prebuilt binary for `stem`, copied into `outDir`, or undefined when there is none. */
export async function takePrebuilt(env: Env, stem: string, outDir: string): Promise<string | undefined> {
  const folder = env[PREBUILT_TESTS_VARIABLE];
  const prebuilt = folder ? join(folder, stem, 'test.main') : undefined;
  if (!prebuilt || !existsSync(prebuilt)) return undefined;
  await mkdir(outDir, { recursive: true });
  const binary = join(outDir, 'test.main');
  await copyFile(prebuilt, binary);
  await chmod(binary, 0o755);
  return binary;
}

/**
 * build_test_suite_binary: `go test -c -o <out>/test.main <dir>`, run in the
 * source tree. The binary goes under the results folder, since the source
 * tree may be the read-only module cache.
 */
export async function compileTestBinary(
  sourceDir: string,
  dir: string,
  outDir: string,
  env: Env,
  options: { signal?: AbortSignal; forDebugger?: boolean; coverage?: boolean } = {},
): Promise<string> {
  const { signal, forDebugger = false, coverage = false } = options;
  await mkdir(outDir, { recursive: true });
  const binary = join(outDir, 'test.main');
  // build_test_suite_binary with TESTCOVERAGE: -cover -covermode=atomic.
  const coverFlags = coverage ? ['-cover', '-covermode=atomic'] : [];
  const result = await run(['go', 'test', '-c', '-o', binary, ...coverFlags, ...mobyTestBuildFlags(env, forDebugger), dir], {
    cwd: sourceDir,
    env: goEnv(env),
    ...(signal ? { signal } : {}),
  });
  if (result.exitCode !== 0) {
    const lines = `${result.stdout}${result.stderr}`.trimEnd().split('\n').slice(-30);
    throw new UserError(`the tests of ${dir} do not compile (go test -c):\n${lines.join('\n')}`);
  }
  return binary;
}
