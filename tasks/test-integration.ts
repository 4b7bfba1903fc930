import { dirname, join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { UserError } from '../core/errors.js';
import { forwardDebugger, type DebugForward } from '../testrunner/debug-forward.js';
import { stateLayout } from '../devdaemon/layout.js';
import { findClients, integrationResultsName, prepareIntegration } from '../testrunner/integration.js';
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
  const suite = await openSuite('test-integration', { ...options, resultsName: integrationResultsName(options) }, env);
  const { renderer, onEvent, signal, release, bundlesDir, bundleDir, cacheDir, source, go, resultsDir } = suite;
  let forward: DebugForward | undefined;
  try {
    // Outside the results folder, which each run empties: a daemon's data-root is slow to delete and must not be under DEST.
    const daemonLayout = stateLayout(`${resultsDir}-daemon`);
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
      // A rootless daemon makes its exec-root as its user, and its containerd is no one else's: nothing to bind at /run/docker.
      suiteNamespace(suite, options.mode.rootless ? undefined : daemonLayout.execRoot),
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
