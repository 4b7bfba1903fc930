import { runInGuest } from './lib/vm-run.js';
import { openRemoteImages } from './lib/remote-images.js';
import { nextSteps } from './cli/commands.js';
import { dirname, join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { UserError } from '../core/errors.js';
import { forwardDebugger, type DebugForward } from '../core/debug-forward.js';
import { stateLayout } from '../devdaemon/layout.js';
import { findClients, integrationResultsName, planIntegrationWork, prepareIntegration } from '../testrunner/integration.js';
import { parseIntegrationOptions, type IntegrationOptions } from '../testrunner/options.js';
import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';
import type { Env } from '../core/env.js';
import type { Listener } from '../core/events.js';
import { bundlePaths } from '../core/bundle-layout.js';
import { readManifest } from '../core/manifest.js';
import type { TestRunEvent } from '../testrunner/events.js';
import { splitIntoShards, unitName } from '../testrunner/shards.js';
import { resolveDaemonSource } from '../core/daemon-source.js';
import { prepareGo } from '../testrunner/toolchain.js';
import { defaultBundlesDir, defaultCacheDir } from './paths.js';
import { runMain } from './cli/run-main.js';
import { finishSuite, frozenImageSteps, openSuite, loadFrozenImages, runPreparedInside, suiteNamespace } from './cli/test-suites.js';

const HELP = `Usage: npm run test-integration -- [options] [packages…]

Runs moby's integration test packages (integration/, and integration-cli when
a docker CLI is available) from the exact source the bundled dockerd was built
from, against a test daemon started from the bundle, as moby's
\`make test-integration\` does — in private mount, network and PID namespaces,
so docker0, /var/run/docker and /tmp/docker-integration are ours and nothing
is left on the machine afterwards.

Options (each also a variable, as in moby's hack/make/.integration-test-helpers):
  --dirs "A B"             TEST_INTEGRATION_DIR   packages (default: every one under ./integration)
  --run REGEXP             TEST_FILTER            tests to run (-test.run); also picks the packages
  --testflags "FLAGS"      TESTFLAGS              more flags for the test binaries
  --fail-fast              TEST_INTEGRATION_FAIL_FAST   stop after the first failing package
  --skip-integration       TEST_SKIP_INTEGRATION
  --skip-integration-cli   TEST_SKIP_INTEGRATION_CLI
  --graphdriver NAME       DOCKER_GRAPHDRIVER     storage driver (default: native)
  --userland-proxy BOOL    DOCKER_USERLANDPROXY   (default: true)
  --experimental           DOCKER_EXPERIMENTAL
  --timeout DURATION       TIMEOUT                per package (default: 10m; integration-cli 360m)
  --repeat N               TEST_REPEAT            run everything N times (TIMEOUT grows with it)
  --coverage               TESTCOVERAGE           -cover binaries, a coverage profile per package
  --testflags-integration "FLAGS"      TESTFLAGS_INTEGRATION      flags for integration/ only
  --testflags-integration-cli "FLAGS"  TESTFLAGS_INTEGRATION_CLI  flags for integration-cli only
  --testdebug              TESTDEBUG              show each command as it starts (moby's set -x)
  --debug-port ADDR        DELVE_PORT             each test binary under delve, stopped until a client
                                                  continues it: dlv connect ADDR (loopback only; a bare
                                                  port means 127.0.0.1:PORT)

moby CI's daemon modes (.github/workflows/.test.yml):
  --mode NAME              one of CI's legs, words joined with +: default, graphdriver,
                           rootless, userns, nftables, iptables, embedded
                           (e.g. graphdriver+rootless); sets the variables below as
                           CI does, with DOCKER_EXPERIMENTAL=1 and DOCKER_GRAPHDRIVER
                           overlayfs (overlay2 with graphdriver). Reports go to
                           bundles/test-integration-<mode>/. systemd and firewalld
                           modes need an init system, which the namespaces lack.
  --rootless               DOCKER_ROOTLESS        dockerd-rootless.sh as unprivilegeduser
  --userns-remap NAME      DOCKER_REMAP_ROOT      dockerd --userns-remap (CI: default)
  --firewall-backend NAME  DOCKER_FIREWALL_BACKEND  iptables or nftables
  --use-graphdriver        TEST_INTEGRATION_USE_GRAPHDRIVER  tests expect a graphdriver
  --storage-opts "A,B"     DOCKER_STORAGE_OPTS    dockerd --storage-opt for each
  --dockerd-args "FLAGS"   DOCKERD_ARGS           more flags for the test daemon

Shards and lanes (integration/ packages and integration-cli suites are the units):
  --shard I/N              run the I-th of N shards (balanced by earlier reports' timings,
                           else split as moby CI's gotestlist -d N); reports go to
                           bundles/test-integration[-<mode>]-shard-I-of-N/
  --list-shards N          print the N shards instead of running (--output json: a CI matrix)
  --jobs N                 N lanes side by side, each with its own namespaces, daemon and DEST
                           (job-N/); merge folders with npm run test-report -- DIR...

  --vm                     TEST_INTEGRATION_VM    the whole run inside the machine image (npm run image)
                           under QEMU: its kernel, cgroup v2 and modules; results come back to
                           bundles/test-integration/ (docs/image.md)

  --output tty|plain|json  progress rows on a terminal, plain lines in CI, JSON lines
  --bundles DIR            bundles root (default: bundles/, or $MOBY_MAKE_BUNDLES)
  --help                   this text

Results (go test -json and JUnit XML per package, as moby CI keeps them), the
test daemon's log and its state go to bundles/test-integration/. Exit 1 when a
test fails. TEST_CLIENT_BINARY names the docker CLI for integration-cli
(default: bundles/binary-client/docker when it exists).`;

async function main(): Promise<number> {
  const env = process.env;
  const options = parseIntegrationOptions(process.argv.slice(2), env);
  if (options.help) {
    console.log(HELP + nextSteps('test-integration'));
    return 0;
  }
  if (options.listShards !== undefined) return listShards(options, options.listShards, env);
  if (options.vm) return runInGuest(options, env);
  if (options.jobs > 1 && options.debugListen) {
    throw new UserError('--jobs with --debug-port: delve stops one test binary at a time', 'Debug with --jobs 1 (the default).');
  }
  const suite = await openSuite('test-integration', { ...options, resultsName: integrationResultsName(options) }, env);
  const { renderer, onEvent, signal, release, bundlesDir, bundleDir, cacheDir, source, go, resultsDir } = suite;
  let forward: DebugForward | undefined;
  try {
    // Outside the results folder, which each run empties: a daemon's data-root is slow to delete and must not be under DEST.
    // Short names (unix sockets allow 107 bytes): the results folder's hash, and the lane.
    const daemons = join(bundlesDir, 'test-daemons', createHash('sha256').update(basename(resultsDir)).digest('hex').slice(0, 8));
    const daemonFor = (job: number | undefined) => stateLayout(job === undefined ? daemons : `${daemons}-${job}`);
    // Every run starts from empty daemons, as moby's does; what a run left is only files (its mounts died with its namespace).
    for (const job of options.jobs > 1 ? Array.from({ length: options.jobs }, (_, at) => at + 1) : [undefined]) {
      await rm(daemonFor(job).stateDir, { recursive: true, force: true });
    }
    const debuggerSocket = join(resultsDir, 'delve', 'dlv.sock');
    const { jobs, notes } = await prepareIntegration({
      options,
      source,
      go,
      env,
      bundlesDir,
      bundleDir,
      cacheDir,
      resultsDir,
      daemonFor,
      clients: findClients(env, bundlesDir),
      onFrozenImage: frozenImageSteps(onEvent),
      remoteImages: await openRemoteImages(env, (notice) => frozenImageSteps(onEvent)({ type: 'cache', notice })),
      debuggerSocket,
      onEvent,
      signal,
    });
    if (jobs.length === 0) return finishSuite(suite, { results: [], exitCode: 0 }, notes);
    if (options.debugListen) {
      await mkdir(dirname(debuggerSocket), { recursive: true, mode: 0o700 });
      forward = await forwardDebugger(options.debugListen, debuggerSocket);
    }
    if (jobs.length > 1) onEvent({ type: 'jobs-started', jobs: jobs.map((job) => job.job ?? 0) });
    // Side by side, each lane its own namespaces and daemon; every lane is waited for (an interrupt stops each in order) before an error is told.
    const settled = await Promise.allSettled(
      jobs.map((job) => {
        const laneEvents = job.job === undefined ? onEvent : inLane(job.job, onEvent);
        return runPreparedInside(
          job.config,
          resultsDir,
          // A rootless daemon makes its exec-root as its user, and its containerd is no one else's: nothing to bind at /run/docker.
          suiteNamespace(suite, options.mode.rootless ? undefined : job.execRoot),
          env,
          laneEvents,
          signal,
          loadFrozenImages(cacheDir, env, signal, laneEvents),
          `inside${job.job === undefined ? '' : `-${job.job}`}.json`,
        );
      }),
    );
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const outcomes = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const results = outcomes.flatMap((outcome) => outcome.results);
    return finishSuite(suite, { results, exitCode: Math.max(...outcomes.map((outcome) => outcome.exitCode)) }, notes);
  } finally {
    await forward?.close();
    await release();
    await renderer.finished();
  }
}

/** A lane's events: its packages tagged with it (a row each), its other lines prefixed. */
function inLane(job: number, onEvent: Listener<TestRunEvent>): Listener<TestRunEvent> {
  return (event) => {
    switch (event.type) {
      case 'package-started':
      case 'test-finished':
      case 'debugger-waiting':
      case 'package-finished':
        return onEvent({ ...event, job });
      case 'step':
        return onEvent({ ...event, text: `[job ${job}] ${event.text}` });
      case 'daemon-ready':
        return onEvent({ type: 'step', text: `[job ${job}] test daemon ready in ${event.seconds.toFixed(1)}s: unix://${event.socket}` });
      case 'source':
      case 'installing':
      case 'compiled':
      case 'suite-skipped':
      case 'kernel-differences':
      case 'jobs-started':
      case 'summary':
        return onEvent(event);
    }
  };
}

/**
 * --list-shards N: the matrix a CI spreads over its runners, one entry per
 * shard with the `--shard` that runs it; JSON (`--output json`) for GitHub
 * Actions' fromJSON or a GitLab child pipeline, else a table.
 */
async function listShards(options: IntegrationOptions, count: number, env: Env): Promise<number> {
  const bundlesDir = options.bundlesDir ? resolve(options.bundlesDir) : defaultBundlesDir(env);
  const manifest = readManifest(bundlePaths(bundlesDir).current);
  const cacheDir = defaultCacheDir(env);
  const source = await resolveDaemonSource(manifest, env, cacheDir);
  const go = await prepareGo(source.dir, cacheDir, env);
  const work = await planIntegrationWork(options, { source, env, go, bundlesDir, clients: findClients(env, bundlesDir) });
  const shards = splitIntoShards(work.units, count, work.entryPoints);
  const matrix = shards.map((shard) => ({
    shard: `${shard.index}/${shard.count}`,
    units: shard.units.map(unitName),
    tests: shard.tests,
    ...(shard.seconds !== undefined ? { seconds: Math.round(shard.seconds) } : {}),
  }));
  if (options.output === 'json') {
    console.log(JSON.stringify({ include: matrix }));
    return 0;
  }
  for (const entry of matrix) {
    const time = entry.seconds !== undefined ? `, about ${(entry.seconds / 60).toFixed(1)} min` : '';
    console.log(
      `--shard ${entry.shard}: ${entry.units.length} ${entry.units.length === 1 ? 'unit' : 'units'} (packages or suites), ${entry.tests} tests${time}`,
    );
    for (const unit of entry.units) console.log(`    ${unit}`);
  }
  return 0;
}

await runMain(main);
