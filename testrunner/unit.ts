import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { planDevContainer } from './dev-container/plan.js';
import { UserError } from '../core/errors.js';
import type { Env } from '../core/env.js';
import { lastLine, run } from '../core/process.js';
import { goEnv } from './compile.js';
import type { InsideConfig } from './inside.js';
import type { UnitOptions } from './options.js';
import type { PackageRun } from './run-package.js';
import { mobyTestEnv } from './test-env.js';
import type { SuiteContext } from './context.js';

export interface UnitContext extends SuiteContext {
  options: UnitOptions;
  signal?: AbortSignal;
}

/** One gotestsum run of hack/test/unit: a module's packages, the main module's, libnetwork's (and its flaky rerun). */
interface UnitBatch {
  label: string;
  /** Relative to the source tree: api and client are modules of their own. */
  moduleDir: string;
  packages: string[];
  /** The report file prefix hack/test/unit uses: api-, client-, libnetwork-, or none. */
  prefix: string;
  extraGoTestFlags: string[];
  extraGotestsumFlags: string[];
}

/**
 * hack/test/unit: `-tags 'netgo journald'` (journald only where libsystemd
 * is there to build it, as for the daemon), -cover, TESTFLAGS and
 * -test.timeout=TIMEOUT; the api and client modules with -mod=readonly;
 * libnetwork one package at a time (it programs iptables), flaky tests apart
 * and rerun up to four times; integration and vendor packages left out.
 */
export async function prepareUnit(context: UnitContext): Promise<InsideConfig> {
  const { options, source, env, resultsDir } = context;
  const tags = (await hasLibsystemd(env)) ? 'netgo journald' : 'netgo';
  const batches = await planBatches(options, source.dir, env);
  if (batches.length === 0) throw new UserError(`TESTDIRS=${options.dirs} names no package with tests outside integration/ and vendor/`);
  const devContainer = await planDevContainer({
    source,
    cacheDir: context.cacheDir,
    env,
    gopath: context.go.gopath,
    resultsDir,
    resultsName: basename(resultsDir),
    clients: {},
    bundlesDir: context.bundlesDir,
    frozenImages: undefined,
    onStep: (text) => context.onEvent({ type: 'step', text }),
    signal: context.signal ?? new AbortController().signal,
  });
  for (const note of devContainer.notes) context.onEvent({ type: 'step', text: note });
  await rm(resultsDir, { recursive: true, force: true });
  await mkdir(join(resultsDir, 'fake-HOME'), { recursive: true });
  const testFlags = [...options.testFlags, `-test.timeout=${options.timeout}`];
  context.onEvent({ type: 'step', text: 'downloading the modules the tests need (go list -deps -test)' });
  for (const batch of batches) await downloadDeps(join(source.dir, batch.moduleDir), batch.packages, env);

  const runs: PackageRun[] = batches.map((batch, index) => {
    const report = (name: string) => join(resultsDir, `${batch.prefix}${name}`);
    return {
      dir: batch.label,
      cwd: join(devContainer.sourceDir, batch.moduleDir),
      command: [
        ...batch.extraGotestsumFlags,
        '--',
        '-tags',
        tags,
        '-cover',
        `-coverprofile=${report('coverage.out')}`,
        '-covermode=atomic',
        ...(batch.moduleDir === '.' ? [] : ['-mod=readonly']),
        ...batch.extraGoTestFlags,
        ...testFlags,
        ...(batch.extraGotestsumFlags.includes('--packages') ? [] : batch.packages),
      ],
      jsonFile: report('go-test-report.json'),
      junitFile: report('junit-report.xml'),
      index: index + 1,
      total: batches.length,
    };
  });
  return {
    bundlesDir: context.bundlesDir,
    cacheDir: context.cacheDir,
    gotestsum: context.go.gotestsum,
    runs,
    failFast: false,
    devContainer: devContainer.steps,
    testEnv: mobyTestEnv({
      env,
      dest: devContainer.dest,
      bundleDir: context.bundleDir,
      goBinary: context.go.goBinary,
      gocache: context.go.gocache,
      gopath: context.go.gopath,
    }),
  };
}

async function planBatches(options: UnitOptions, sourceDir: string, env: Env): Promise<UnitBatch[]> {
  const patterns = options.dirs.split(' ');
  const batches: UnitBatch[] = [];
  for (const module of ['api', 'client']) {
    const inModule = patterns.filter((p) => p === './...' || p === `./${module}` || p.startsWith(`./${module}/`));
    if (inModule.length === 0 || !existsSync(join(sourceDir, module, 'go.mod'))) continue;
    const packages = await listPackages(
      join(sourceDir, module),
      inModule.map((p) => (p === './...' ? p : `.${p.slice(module.length + 2)}`)),
      env,
      true,
    );
    if (packages.length > 0)
      batches.push({ label: `./${module}`, moduleDir: module, packages, prefix: `${module}-`, extraGoTestFlags: [], extraGotestsumFlags: [] });
  }
  const mainPatterns = patterns.filter((p) => !p.startsWith('./api') && !p.startsWith('./client'));
  if (mainPatterns.length === 0) return batches;
  const all = (await listPackages(sourceDir, mainPatterns, env, false)).filter((pkg) => !/(\/vendor\/|\/integration)/.test(pkg));
  const libnetwork = all.filter((pkg) => pkg.includes('/libnetwork'));
  const rest = all.filter((pkg) => !pkg.includes('/libnetwork'));
  if (rest.length > 0)
    batches.push({ label: mainPatterns.join(' '), moduleDir: '.', packages: rest, prefix: '', extraGoTestFlags: [], extraGotestsumFlags: [] });
  if (libnetwork.length > 0) {
    const customRun = /(^|\s)-(test\.)?run[= ]/.test(options.testFlags.join(' '));
    batches.push({
      label: 'libnetwork',
      moduleDir: '.',
      packages: libnetwork,
      prefix: 'libnetwork-',
      extraGoTestFlags: ['-p=1', ...(customRun ? [] : ['-skip=TestFlaky.*'])],
      extraGotestsumFlags: [],
    });
    if (!customRun) {
      batches.push({
        label: 'libnetwork (flaky, rerun up to 4 times)',
        moduleDir: '.',
        packages: libnetwork,
        prefix: 'libnetwork-flaky-',
        extraGoTestFlags: ['-p=1', '-test.run', 'TestFlaky.*'],
        extraGotestsumFlags: ['--packages', libnetwork.join(' '), '--rerun-fails=4'],
      });
    }
  }
  return batches;
}

async function listPackages(dir: string, patterns: string[], env: Env, readonly: boolean): Promise<string[]> {
  const result = await run(['go', 'list', ...(readonly ? ['-mod=readonly'] : []), ...patterns], { cwd: dir, env: goEnv(env) });
  if (result.exitCode !== 0) throw new UserError(`go list ${patterns.join(' ')} failed in ${dir}: ${lastLine(result.stderr)}`);
  return result.stdout.split('\n').filter(Boolean);
}

/** Inside the private network namespace there is no module proxy: everything the tests import is fetched (and verified) now. */
async function downloadDeps(dir: string, packages: string[], env: Env): Promise<void> {
  const result = await run(['go', 'list', '-deps', '-test', '-f', '{{.ImportPath}}', ...packages], { cwd: dir, env: goEnv(env) });
  if (result.exitCode !== 0) throw new UserError(`go list -deps -test failed in ${dir}: ${lastLine(result.stderr)}`);
}

async function hasLibsystemd(env: Env): Promise<boolean> {
  return (await run(['pkg-config', '--exists', 'libsystemd'], { env })).exitCode === 0;
}
