import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Listener } from '../core/events.js';
import type { PackageResult, TestRunEvent } from './events.js';
import type { HostFacts } from './host-facts.js';
import { STORAGE_DRIVER_EVIDENCE } from './classify.js';
import { parseGoTestLine, PackageTally } from './results.js';
import { ciSkipEvidence } from './source-evidence.js';

/** What one gotestsum invocation runs: test2json over a compiled test binary, or `go test` itself. */
export interface PackageRun {
  /** The package as moby names it (./integration/container), or a label for a whole unit-test batch. */
  dir: string;
  /** The working directory: the package's own folder for a test binary. */
  cwd: string;
  /** gotestsum's arguments after its report options (e.g. --raw-command -- go tool test2json ...). */
  command: readonly string[];
  jsonFile: string;
  junitFile: string;
  index: number;
  total: number;
}

/**
 * Runs gotestsum as moby does (--jsonfile, --junitfile) but with the
 * standard-json format on stdout, which is tallied as it arrives for live
 * progress and the summary. It runs in its own process group so an interrupt
 * ends the test binary with it.
 */
export async function runPackage(
  gotestsum: string,
  pkg: PackageRun,
  env: Record<string, string>,
  onEvent: Listener<TestRunEvent>,
  facts: HostFacts,
  signal?: AbortSignal,
): Promise<PackageResult> {
  const started = performance.now();
  onEvent({ type: 'package-started', dir: pkg.dir, index: pkg.index, total: pkg.total });
  const tally = new PackageTally(pkg.dir, facts, failureEvidence(env, pkg.cwd));
  const child = spawn(gotestsum, ['--format=standard-json', `--jsonfile=${pkg.jsonFile}`, `--junitfile=${pkg.junitFile}`, ...pkg.command], {
    cwd: pkg.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const stop = () => {
    if (child.pid !== undefined) killGroup(child.pid);
  };
  signal?.addEventListener('abort', stop, { once: true });
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 50) stderr.shift();
  });
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    const event = parseGoTestLine(line);
    if (!event) return;
    const finished = tally.add(event);
    if (finished) {
      onEvent({ type: 'test-finished', dir: pkg.dir, ...finished, counts: { ...tally.counts }, elapsed: (performance.now() - started) / 1000 });
    }
  });
  const exitCode = await new Promise<number>((resolve) => {
    child.once('error', () => resolve(127));
    child.once('close', (code, sig) => resolve(code ?? (sig ? 130 : 1)));
  });
  signal?.removeEventListener('abort', stop);
  const failures = tally.finish(exitCode);
  // gotestsum's own complaints (a binary that would not start) belong with the package failure.
  const packageFailure = failures.find((failure) => failure.test === '(package)');
  if (packageFailure && packageFailure.lines.length === 0) packageFailure.lines = stderr.slice(-15);
  const result: PackageResult = {
    dir: pkg.dir,
    counts: { ...tally.counts },
    seconds: (performance.now() - started) / 1000,
    exitCode,
    failures,
    jsonFile: pkg.jsonFile,
    junitFile: pkg.junitFile,
  };
  onEvent({ type: 'package-finished', result });
  return result;
}

/** What is known of a failed test beyond its output: its daemons' refusals, its source's CI skip, the run's storage driver. */
function failureEvidence(env: Record<string, string>, cwd: string): (test: string) => string[] {
  const refusals = env.DEST ? testDaemonRefusals(env.DEST) : () => [];
  const ciSkips = ciSkipEvidence(cwd);
  const driver = env.DOCKER_GRAPHDRIVER ? [`${STORAGE_DRIVER_EVIDENCE}${env.DOCKER_GRAPHDRIVER}`] : [];
  return (test) => [...refusals(test), ...ciSkips(test), ...driver];
}

/**
 * What the daemons a test started (moby's DEST/<Test>/<id>/docker.log)
 * refused, with the request — a bare "operation not supported" from the API
 * says which driver asked the kernel for what only there —, whether they
 * found IPVS, without which swarm's routing mesh answers nothing, and what
 * the external DNS servers a test named answered its containers' lookups.
 */
const DAEMON_EVIDENCE = /error response for POST request|Could not get ipvs family information|\[resolver\] external DNS \S+ returned response with no answers/;

function testDaemonRefusals(dest: string): (test: string) => string[] {
  return (test) => {
    // integration/ keeps DEST/<Test>/<id>/, integration-cli DEST/<Suite>/<Test>/<id>/: the deepest folder of the test's path that exists.
    let dir = dest;
    for (const part of test.split('/')) {
      if (!existsSync(join(dir, part))) break;
      dir = join(dir, part);
    }
    if (dir === dest) return [];
    const lines: string[] = [];
    for (const daemon of readdirSync(dir)) {
      const log = join(dir, daemon, 'docker.log');
      if (!existsSync(log)) continue;
      for (const line of readFileSync(log, 'utf8').split('\n')) if (DAEMON_EVIDENCE.test(line)) lines.push(line.slice(0, 600));
    }
    return lines;
  };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
