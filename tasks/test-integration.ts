import { dirname, join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { UserError } from '../core/errors.js';
import { forwardDebugger, type DebugForward } from '../testrunner/debug-forward.js';
import { stateLayout } from '../devdaemon/layout.js';
import { findClients, prepareIntegration } from '../testrunner/integration.js';
import { parseIntegrationOptions } from '../testrunner/options.js';
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
  --debug-port ADDR        DELVE_PORT             each test binary under delve, stopped until a client
                                                  continues it: dlv connect ADDR (loopback only; a bare
                                                  port means 127.0.0.1:PORT)
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
    console.log(HELP);
    return 0;
  }
  const suite = await openSuite('test-integration', options, env);
  const { renderer, onEvent, signal, release, bundlesDir, bundleDir, cacheDir, source, go, resultsDir } = suite;
  let forward: DebugForward | undefined;
  try {
    // Outside the results folder, which each run empties: a daemon's data-root is slow to delete and must not be under DEST.
    const daemonLayout = stateLayout(join(bundlesDir, 'test-integration-daemon'));
    // Every run starts from an empty daemon, as moby's does; what a run left is only files (its mounts died with its namespace).
    await rm(daemonLayout.stateDir, { recursive: true, force: true });
    const debuggerSocket = join(resultsDir, 'delve', 'dlv.sock');
    const { config, notes } = await prepareIntegration({
      options,
      source,
      go,
      env,
      bundlesDir,
      bundleDir,
      cacheDir,
      resultsDir,
      daemon: { stateDir: daemonLayout.stateDir, socket: daemonLayout.socket, logFile: join(resultsDir, 'docker.log') },
      clients: findClients(env, bundlesDir),
      onFrozenImage: frozenImageSteps(onEvent),
      debuggerSocket,
      onEvent,
      signal,
    });
    if (config.runs.length === 0) return finishSuite(suite, { results: [], exitCode: 0 }, notes);
    if (options.debugListen) {
      await mkdir(dirname(debuggerSocket), { recursive: true, mode: 0o700 });
      forward = await forwardDebugger(options.debugListen, debuggerSocket).catch((error: unknown) => {
        throw new UserError(
          `--debug-port ${options.debugListen}: ${error instanceof Error ? error.message : String(error)}`,
          'Pick a free port (DELVE_PORT=127.0.0.1:PORT).',
        );
      });
    }
    const outcome = await runPreparedInside(
      config,
      resultsDir,
      suiteNamespace(suite, daemonLayout.execRoot),
      env,
      renderer,
      signal,
      loadFrozenImages(cacheDir, env, signal, onEvent),
    );
    return finishSuite(suite, outcome, notes);
  } finally {
    await forward?.close();
    await release();
    await renderer.finished();
  }
}

await runMain(main);
