import { nextSteps } from './cli/commands.js';
import { parseUnitOptions } from '../testrunner/options.js';
import { prepareUnit } from '../testrunner/unit.js';
import { runMain } from './cli/run-main.js';
import { finishSuite, openSuite, runPreparedInside, suiteNamespace } from './cli/test-suites.js';

const HELP = `Usage: npm run test-unit -- [options] [packages…]

Runs moby's unit tests as hack/test/unit does, from the exact source the
bundled dockerd was built from, in private mount, network and PID namespaces
(libnetwork's tests program iptables and bridges; none of it reaches the host).

Options (each also a variable, as in hack/test/unit):
  --dirs "A B"             TESTDIRS    packages (default: ./...; ./api/... and ./client/... are their own modules)
  --testflags "FLAGS"      TESTFLAGS   more flags for go test (e.g. "-run TestFoo -v")
  --timeout DURATION       TIMEOUT     -test.timeout (default: 5m)
  --output tty|plain|json  progress rows on a terminal, plain lines in CI, JSON lines
  --bundles DIR            bundles root (default: bundles/, or $MOBY_MAKE_BUNDLES)
  --help                   this text

Results (go test -json, JUnit XML, coverage) go to bundles/test-unit/ with
hack/test/unit's names. Exit 1 when a test fails.`;

async function main(): Promise<number> {
  const env = process.env;
  const options = parseUnitOptions(process.argv.slice(2), env);
  if (options.help) {
    console.log(HELP + nextSteps('test-unit'));
    return 0;
  }
  const suite = await openSuite('test-unit', options, env);
  const { renderer, onEvent, signal, release, bundlesDir, bundleDir, cacheDir, source, go, resultsDir } = suite;
  try {
    const config = await prepareUnit({ options, source, go, env, bundlesDir, bundleDir, cacheDir, resultsDir, onEvent, signal });
    const outcome = await runPreparedInside(config, resultsDir, suiteNamespace(suite), env, renderer.onEvent, signal);
    return finishSuite(suite, outcome, []);
  } finally {
    await release();
    await renderer.finished();
  }
}

await runMain(main);
