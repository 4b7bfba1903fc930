import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { bundlePaths } from '../../core/bundle-layout.js';
import { resolveDaemonSource } from '../../core/daemon-source.js';
import type { Env } from '../../core/env.js';
import { UserError } from '../../core/errors.js';
import type { Listener } from '../../core/events.js';
import { installGoTool } from '../../core/go-tools.js';
import { readManifest } from '../../core/manifest.js';
import { run } from '../../core/process.js';
import { launcherArgv } from '../../core/typescript-modules.js';
import { runGuestJob } from '../../image/job.js';
import { acceleratorFor } from '../../image/qemu.js';
import { compileTestBinary, PREBUILT_TESTS_VARIABLE } from '../../testrunner/compile.js';
import { readDevStage } from '../../testrunner/dev-container/dockerfile.js';
import { ensurePackageLayer } from '../../testrunner/dev-container/packages.js';
import { makeFrozenArchives } from '../../testrunner/frozen-images/index.js';
import { integrationResultsName } from '../../testrunner/integration.js';
import { scaleDuration, type IntegrationOptions } from '../../testrunner/options.js';
import { INTEGRATION_CLI_DIR, junitPackageName, planSuites, reportStem } from '../../testrunner/packages.js';
import { prepareGo, TEST_REGISTRY } from '../../testrunner/toolchain.js';
import { checkTestPrerequisites } from '../cli/test-suites.js';
import { interruptSignal } from '../cli/run-main.js';
import { defaultBundlesDir, defaultCacheDir } from '../paths.js';
import { imageLines, type ImageCommandEvent } from '../render/image-lines.js';
import { plainRenderer } from '../render/plain.js';
import { bootOptions, prepareImage, type ImageContext } from './image.js';
import { openRemoteImages } from './remote-images.js';

/** The guest's memory for a run: the test daemons' data roots and images live in it (tmpfs). */
const GUEST_MEMORY_MIB = 8192;
/** How much slower moby's tests ran in the guest under TCG than on this machine (15-19x measured: docs/test-results.md), rounded up. */
const TCG_SLOWDOWN = 20;
/** Reports, logs and profiles come back; larger files are daemons' layers and images. */
const COPY_LIMIT_BYTES = 64 << 20;

/**
 * --vm: this same command, without --vm, run inside the machine image
 * (npm run image) on its kernel — cgroup v2, the modules image.yml loads —
 * with this machine's files seen read-only; the test daemons' state and the
 * results folder are memory in the guest, and the results come back here.
 */
export async function runInGuest(options: IntegrationOptions, env: Env): Promise<number> {
  if (options.debugListen) throw new UserError("--vm with --debug-port: delve would listen in the guest, out of this machine's reach", 'Debug without --vm.');
  const bundlesDir = options.bundlesDir ? resolve(options.bundlesDir) : defaultBundlesDir(env);
  const signal = interruptSignal({ outliveRepeats: true });
  const renderer = plainRenderer(imageLines, (line, stream) => (stream === 'stdout' ? console.log(`vm: ${line}`) : console.error(`vm: ${line}`)));
  const context = { bundlesDir, cacheDir: defaultCacheDir(env), env, signal, onEvent: renderer.onEvent };
  // Installed here, where apt runs at full speed: the guest sees this machine's programs.
  await checkTestPrerequisites(env, (event) => {
    if (event.type === 'installing') renderer.onEvent(event);
  });
  // The guest sees this machine's files: binaries compiled here, in a folder of this run's, are there for it.
  const prebuiltDir = await mkdtemp(join(tmpdir(), 'moby-make-vm-tests-'));
  try {
    await warmForGuest(options, prebuiltDir, bundlesDir, env, signal, renderer.onEvent);
    return await runPreparedGuest(options, context, { ...env, [PREBUILT_TESTS_VARIABLE]: prebuiltDir });
  } finally {
    await rm(prebuiltDir, { recursive: true, force: true });
  }
}

async function runPreparedGuest(options: IntegrationOptions, context: ImageContext, env: Env): Promise<number> {
  const { bundlesDir } = context;
  const prepared = await prepareImage(context);
  const resultsDir = join(bundlesDir, integrationResultsName(options));
  const guestEnv = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[0] !== 'TEST_INTEGRATION_VM'),
  );
  const script = process.argv[1] ?? '';
  const boot = bootOptions(prepared, context, Math.max(prepared.spec.outputs.memory, GUEST_MEMORY_MIB));
  const args = process.argv.slice(2).filter((arg) => arg !== '--vm');
  const { accelerator } = await acceleratorFor(boot);
  // go test's timeout is a package's whole run; emulation stretches it past moby's 10m, which then panics the binary mid-test.
  const userTimeout = env.TIMEOUT !== undefined || args.some((arg) => arg === '--timeout' || arg.startsWith('--timeout='));
  if (accelerator === 'tcg' && !userTimeout) {
    guestEnv.TIMEOUT = scaleDuration(options.timeout, TCG_SLOWDOWN);
    console.log(
      `vm: under emulation go test's timeout ${options.timeout} becomes ${guestEnv.TIMEOUT} (tests run about ${TCG_SLOWDOWN}x slower; --timeout sets it)`,
    );
  }
  const outcome = await runGuestJob({
    ...boot,
    job: {
      argv: launcherArgv(script, ...args),
      env: guestEnv,
      dir: process.cwd(),
      // The results folder and the test daemons' state start empty in guest memory: daemons' data roots cannot live on overlayfs.
      scratch: [{ path: bundlesDir, fresh: ['test-integration', 'test-daemons', basename(resultsDir)] }],
      // What the run makes in its caches (the dev container's packages, test binaries' objects, modules) stays for the next run, here or in a guest.
      shared: [context.cacheDir, ...(await goCaches(env))],
      copyBack: [resultsDir],
      copyLimitBytes: COPY_LIMIT_BYTES,
    },
    onOutput: (line) => console.log(line),
  });
  console.log(`vm: ${outcome.copied} result files copied back to ${resultsDir}`);
  return outcome.exitCode;
}

/**
 * What the run inside would otherwise make under emulation, made here: into
 * the caches the guest writes through to, gotestsum and the test registry
 * (Go builds of minutes in the guest), the dev container's packages layer and
 * the frozen images; into `prebuiltDir`, the test binaries.
 */
async function warmForGuest(
  options: IntegrationOptions,
  prebuiltDir: string,
  bundlesDir: string,
  env: Env,
  signal: AbortSignal,
  onEvent: Listener<ImageCommandEvent>,
): Promise<void> {
  const cacheDir = defaultCacheDir(env);
  const source = await resolveDaemonSource(readManifest(bundlePaths(bundlesDir).current), env, cacheDir);
  await installGoTool(TEST_REGISTRY, join(cacheDir, 'tools'), env, signal);
  await ensurePackageLayer(readDevStage(source.dir).aptPackages, cacheDir, env, signal);
  const remote = await openRemoteImages(env, (notice) => onEvent({ type: 'cache', notice }));
  await makeFrozenArchives({ cacheDir, env, signal, onEvent, ...(remote ? { remote } : {}) });
  // The test binaries, compiled here: linking one under emulation takes minutes.
  const plan = await planSuites(options, source.dir, env);
  const { goarch } = await prepareGo(source.dir, cacheDir, env, signal);
  for (const dir of [...plan.integrationDirs, ...(plan.runIntegrationCli ? [INTEGRATION_CLI_DIR] : [])]) {
    const began = performance.now();
    await compileTestBinary(source.dir, dir, join(prebuiltDir, reportStem(junitPackageName(dir, goarch))), env, { signal, coverage: options.coverage });
    console.log(`vm: compiled ${dir} here in ${((performance.now() - began) / 1000).toFixed(1)}s; the guest runs this binary`);
  }
}

/** go's build and module caches, as `go env` names them. */
async function goCaches(env: Env): Promise<string[]> {
  const result = await run(['go', 'env', 'GOCACHE', 'GOMODCACHE'], { env });
  if (result.exitCode !== 0) throw new UserError(`go env GOCACHE GOMODCACHE failed: ${result.stderr.trim()}`, 'Check the Go installation (go env).');
  return result.stdout.split('\n').filter((line) => line.startsWith('/'));
}
