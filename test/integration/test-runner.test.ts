import { spawn } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { bundlePaths } from '../../core/bundle-layout.js';
import type { TestRunEvent } from '../../testrunner/events.js';
import { projectRoot, taskArgv } from '../../tasks/paths.js';
import { runTask } from '../support/cli.js';
import { freePort } from '../../core/free-port.js';
import { tempDir } from '../support/temp.js';
import { DelveClient } from '../support/delve-client.js';
import { FixtureRepo } from '../support/git-repos.js';
import { events, fixtureBundles, fixtureSource, leftovers, summaryOf } from './support/fixture-runner.js';

/** The runner on the fixture bundles with JSON events; `reached` resolves at the first event of `type`. */
function startRunner(args: string[], extraEnv: Record<string, string>, type: TestRunEvent['type']) {
  const [command, ...rest] = taskArgv('test-integration', '--bundles', bundles, ...args, '--output', 'json');
  const child = spawn(command, rest, {
    cwd: projectRoot,
    env: { ...process.env, ...env, ...extraEnv, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  const reached = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes(`"type":"${type}"`)) resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, reached, exited, stdout: () => stdout };
}

/** delve's API appears on the forward once the package's delve runs; until then a connection is closed at once. */
async function connectWhenListening(listen: string): Promise<DelveClient> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const client = await DelveClient.connect(listen);
      await client.call('IsMulticlient', {});
      return client;
    } catch (error) {
      if (attempt > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const source = fixtureSource();
const bundles = fixtureBundles(source);
const env = { DAEMON_SRC: source.dir, MMK_FIXTURE_LEAK: 'the caller environment' };
const docker0Before = existsSync('/sys/class/net/docker0');

describe('npm run test-integration on a fixture package', () => {
  it('runs the package against a test daemon in namespaces where moby harness assumptions hold, and leaves nothing behind', async () => {
    // A TMPDIR under /run, which the namespace's fresh /run hides (the machine image's jobs have one): the daemon makes a container's temporary folders there.
    const hiddenTmpdir = mkdtempSync('/run/moby-make-test-tmpdir-');
    const result = await runTask(
      'test-integration',
      ['--bundles', bundles, '--run', 'TestHarnessEnvironment|TestDevContainer|TestSubtests|TestSkipped|TestContainerExec', '--output', 'json'],
      { ...env, TMPDIR: hiddenTmpdir },
    ).finally(() => rmSync(hiddenTmpdir, { recursive: true, force: true }));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = summaryOf(result.stdout);
    expect(summary.packages.map((p) => [p.dir, p.counts, p.failures])).toEqual([['./integration/fixture', { passed: 6, failed: 0, skipped: 1 }, []]]);
    expect(existsSync('/mmk-fixture-root-write')).toBe(false);
    expect(existsSync('/etc/docker/plugins')).toBe(false);
    const finished = events(result.stdout).filter((event) => event.type === 'test-finished');
    expect(finished.map((event) => event.type === 'test-finished' && event.test)).toContain('TestSubtests/second');
    const results = join(bundles, 'test-integration');
    const report = readFileSync(join(results, 'amd64-integration-fixture-go-test-report.json'), 'utf8');
    expect(report).toContain('"Test":"TestHarnessEnvironment"');
    expect(readFileSync(join(results, 'amd64-integration-fixture-junit-report.xml'), 'utf8')).toContain('TestHarnessEnvironment');
    expect(summary.notes).toContain(
      'integration-cli: skipped, the filter "TestHarnessEnvironment|TestDevContainer|TestSubtests|TestSkipped|TestContainerExec" omits all integration-cli tests',
    );
    expect(leftovers(bundles, source.dir)).toEqual([]);
    expect(existsSync('/sys/class/net/docker0')).toBe(docker0Before);
  });

  it('exits 1 on a failing test and names its recognised cause with its last lines', async () => {
    const result = await runTask('test-integration', ['--bundles', bundles, '--run', 'TestNeedsRegistry|TestSkipped'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL \.\/integration\/fixture TestNeedsRegistry — needs a registry: Docker Hub unreachable/);
    expect(result.stdout).toContain('pulling busybox:1.36');
    expect(result.stdout).toMatch(/\.\/integration\/fixture\s+0\s+1\s+1\s/);
    expect(result.stdout).toMatch(/failures by cause \(1\):\n\s+1 {2}needs a registry: Docker Hub unreachable\n\s+0 {2}cause not recognised/);
    expect(leftovers(bundles, source.dir)).toEqual([]);
  });

  it('stops the test binary, the daemon and its namespaces on Ctrl-C and exits 130', async () => {
    const { child, reached: started, exited } = startRunner(['--run', 'TestSlow'], {}, 'package-started');
    await started;
    await new Promise((resolve) => setTimeout(resolve, 2000)); // TestSlow is running
    const before = Date.now();
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(Date.now() - before).toBeLessThan(60_000);
    expect(leftovers(bundles, source.dir)).toEqual([]);
  });
});

describe('npm run test-integration with TEST_REPEAT and TESTCOVERAGE', () => {
  it('runs the package once per round, each round with its own reports and coverage profile', async () => {
    const result = await runTask('test-integration', ['--bundles', bundles, '--run', 'TestSubtests', '--output', 'json'], {
      ...env,
      TEST_REPEAT: '2',
      TESTCOVERAGE: '1',
    });
    expect(result.code).toBe(0);
    const summary = summaryOf(result.stdout);
    expect(summary.packages.map((p) => [p.dir, p.counts])).toEqual([
      ['./integration/fixture (round 1/2)', { passed: 3, failed: 0, skipped: 0 }],
      ['./integration/fixture (round 2/2)', { passed: 3, failed: 0, skipped: 0 }],
    ]);
    const results = join(bundles, 'test-integration');
    for (const round of [1, 2]) {
      expect(readFileSync(join(results, `amd64-integration-fixture-round-${round}-go-test-report.json`), 'utf8')).toContain('TestSubtests');
      expect(readFileSync(join(results, `amd64-integration-fixture-round-${round}-coverage.out`), 'utf8')).toMatch(/^mode: atomic\n/);
    }
  });
});

describe('npm run test-integration with DELVE_PORT', () => {
  it('stops each test binary under delve until a client continues it; the client reads a variable at a breakpoint', async () => {
    const listen = `127.0.0.1:${await freePort()}`;
    const { reached: waiting, exited, stdout } = startRunner(['--run', 'TestDebugged'], { DELVE_PORT: listen }, 'debugger-waiting');
    await waiting;
    const delve = await connectWhenListening(listen);
    try {
      await delve.createBreakpoint('example.com/mobytests/integration/fixture.answer');
      const stopped = await delve.command('continue');
      const goroutine = stopped.currentThread?.goroutineID ?? -1;
      expect((await delve.eval(goroutine, 'question')).value).toBe('the question');
      expect((await delve.command('continue')).exited).toBe(true);
      await delve.call('Detach', { Kill: true });
    } finally {
      delve.close();
    }
    expect(await exited).toBe(0);
    expect(summaryOf(stdout()).packages.map((p) => p.counts)).toEqual([{ passed: 1, failed: 0, skipped: 0 }]);
    expect(leftovers(bundles, source.dir)).toEqual([]);
  });

  it('refuses a debugger port beyond loopback and says why', async () => {
    const result = await runTask('test-integration', ['--bundles', bundles, '--debug-port', '0.0.0.0:2345'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no authentication/);
  });
});

describe('the source the tests come from', () => {
  it('refuses a bundle built from another source than the one asked for, naming both', async () => {
    const result = await runTask('test-integration', ['--bundles', bundles], { DAEMON_SRC: '' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /error: the bundle's dockerd was built from a local checkout \(path fixture \(commit [0-9a-f]{12}\)\) and DAEMON_SRC is not set/,
    );
    const other = await runTask('test-integration', [], { DAEMON_VERSION: 'v1.0.0' });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/error: DAEMON_VERSION=v1\.0\.0, but the bundle's dockerd was built from module v2\.0\.0-beta\.21/);
  });
});

describe("moby's dev container, from the source's Dockerfile", () => {
  it('names a dev-stage package apt cannot find, before anything is compiled, and starts nothing', async () => {
    const broken = fixtureSource();
    const dockerfile = readFileSync(join(broken.dir, 'Dockerfile'), 'utf8').replace(
      '            jq \\\n',
      '            jq \\\n            not-a-debian-package \\\n',
    );
    const commit = new FixtureRepo(broken.dir).commit({ Dockerfile: dockerfile }, 'a package that does not exist');
    const brokenBundles = fixtureBundles({ dir: broken.dir, commit });
    const result = await runTask('test-integration', ['--bundles', brokenBundles, '--output', 'plain'], { DAEMON_SRC: broken.dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: the dev container's package not-a-debian-package \(moby's Dockerfile, dev stage\) is not in this machine's apt sources$/m,
    );
    expect(result.stdout).not.toMatch(/compiled /);
    expect(leftovers(brokenBundles, source.dir)).toEqual([]);
  });
});

describe("moby CI's matrix on the fixture tree: shards, --jobs, the report merge", () => {
  const both = ['--run', 'TestSubtests|TestSecondPackage'];
  it('--list-shards prints a matrix of both packages, and --shard I/N runs its share into a folder of its own', async () => {
    const listed = await runTask('test-integration', ['--bundles', bundles, ...both, '--list-shards', '2', '--output', 'json'], env);
    expect(listed.code).toBe(0);
    const matrix = JSON.parse(listed.stdout.trim().split('\n').pop() ?? '') as { include: { shard: string; units: string[] }[] };
    expect(matrix.include.map((entry) => entry.shard)).toEqual(['1/2', '2/2']);
    expect(matrix.include.flatMap((entry) => entry.units).sort()).toEqual(['./integration/fixture', './integration/fixturetwo']);
    for (const [at, entry] of matrix.include.entries()) {
      const result = await runTask('test-integration', ['--bundles', bundles, ...both, '--shard', entry.shard, '--output', 'json'], env);
      expect(result.code).toBe(0);
      expect(summaryOf(result.stdout).packages.map((p) => p.dir)).toEqual(entry.units);
      expect(existsSync(join(bundles, `test-integration-shard-${at + 1}-of-2`))).toBe(true);
    }
    // Two shards' folders as one run: the same counts as the packages' own, once each.
    const merged = await runTask(
      'test-report',
      ['--into', join(bundles, 'merged'), '--output', 'json', ...[1, 2].map((i) => join(bundles, `test-integration-shard-${i}-of-2`))],
      {},
    );
    expect(merged.code).toBe(0);
    expect(summaryOf(merged.stdout).packages.map((p) => [p.dir, p.counts])).toEqual([
      ['./integration/fixture', { passed: 3, failed: 0, skipped: 0 }],
      ['./integration/fixturetwo', { passed: 3, failed: 0, skipped: 0 }],
    ]);
    expect(readFileSync(join(bundles, 'merged', 'merged-junit-report.xml'), 'utf8')).toMatch(/<testsuites tests="6" failures="0"/);
    const twice = await runTask(
      'test-report',
      ['--into', join(bundles, 'merged'), '--output', 'plain', join(bundles, 'test-integration-shard-1-of-2'), join(bundles, 'test-integration-shard-1-of-2')],
      {},
    );
    expect(twice.stdout).toMatch(/counted once/);
    expect((await runTask('test-integration', ['--bundles', bundles, '--shard', '3/2'], env)).stderr).toMatch(/--shard 3\/2 is not one of N shards/);
  });

  it('--jobs 2 runs the two packages side by side, each with a daemon of its own, and Ctrl-C leaves nothing behind', async () => {
    const result = await runTask('test-integration', ['--bundles', bundles, ...both, '--jobs', '2', '--output', 'json'], env);
    expect(result.code).toBe(0);
    const all = events(result.stdout);
    expect(all.find((event) => event.type === 'jobs-started')).toMatchObject({ type: 'jobs-started', jobs: [1, 2] });
    const lanes = all.flatMap((event) => (event.type === 'package-started' ? [`${event.job} ${event.dir}`] : [])).sort();
    // One package a lane (which lane depends on the timings of earlier runs' reports).
    expect(lanes.map((lane) => lane.split(' ')[0])).toEqual(['1', '2']);
    expect(lanes.map((lane) => lane.split(' ')[1]).sort()).toEqual(['./integration/fixture', './integration/fixturetwo']);
    expect(summaryOf(result.stdout).packages.map((p) => p.counts.failed)).toEqual([0, 0]);
    for (const job of [1, 2]) expect(readFileSync(join(bundles, 'test-integration', `job-${job}`, 'docker.log'), 'utf8')).toContain('API listen on');
    expect(leftovers(bundles, source.dir)).toEqual([]);

    const { child, reached, exited } = startRunner(['--run', 'TestSlow|TestSecondPackage', '--jobs', '2'], {}, 'package-started');
    await reached;
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(leftovers(bundles, source.dir)).toEqual([]);
    expect(existsSync('/sys/class/net/docker0')).toBe(docker0Before);
  });
});

describe('npm run test-unit on a fixture package', () => {
  it('runs go test through gotestsum in the namespaces, with hack/test/unit report names', async () => {
    const result = await runTask('test-unit', ['--bundles', bundles, '--dirs', './...', '--output', 'json'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = summaryOf(result.stdout);
    // integration packages are left out as hack/test/unit does.
    expect(summary.packages.map((p) => [p.dir, p.counts])).toEqual([['./...', { passed: 1, failed: 0, skipped: 0 }]]);
    expect(readFileSync(join(bundles, 'test-unit', 'go-test-report.json'), 'utf8')).toContain('TestRunsInThePackageDirectory');
    expect(existsSync(join(bundles, 'test-unit', 'coverage.out'))).toBe(true);
    expect(leftovers(bundles, source.dir)).toEqual([]);
  });
});

describe('npm run test-integration on a real moby package', () => {
  it('passes ./integration/system from the bundle source with 0 failures', { timeout: 1_800_000 }, async () => {
    const result = await runTask('test-integration', ['--output', 'json'], { TEST_INTEGRATION_DIR: './integration/system' });
    const summary = summaryOf(result.stdout);
    expect(summary.packages.flatMap((p) => p.failures)).toEqual([]);
    expect(result.code).toBe(0);
    const [system] = summary.packages;
    expect(system?.dir).toBe('./integration/system');
    expect(system?.counts.failed).toBe(0);
    expect(system?.counts.passed).toBeGreaterThan(50);
    expect(leftovers(join(inject('bundlesDir'), 'test-daemons'), source.dir)).toEqual([]);
    expect(leftovers(join(inject('bundlesDir'), 'test-integration'), source.dir)).toEqual([]);
  });

  it('passes ./integration/system with --mode rootless: the test daemon through dockerd-rootless.sh as unprivilegeduser', { timeout: 1_800_000 }, async () => {
    // The unprivileged user must reach the bundle and the daemon's state: a bundles root of hard links under an enterable folder.
    const root = tempDir('rootless-bundles');
    chmodSync(root, 0o755);
    const real = bundlePaths(inject('bundlesDir')).current;
    mkdirSync(bundlePaths(root).current);
    for (const name of readdirSync(real)) linkSync(join(real, name), join(bundlePaths(root).current, name));
    const result = await runTask('test-integration', ['--bundles', root, '--mode', 'rootless', '--output', 'json', './integration/system'], {});
    const summary = summaryOf(result.stdout);
    expect(summary.packages.flatMap((p) => p.failures)).toEqual([]);
    expect(result.code).toBe(0);
    expect(summary.packages.map((p) => [p.dir, p.counts.failed])).toEqual([['./integration/system', 0]]);
    expect(summary.packages[0]?.counts.passed).toBeGreaterThan(50);
    expect(summary.notes[0]).toMatch(/^mode: rootless \(DOCKER_GRAPHDRIVER=overlayfs DOCKER_EXPERIMENTAL=1 DOCKER_ROOTLESS=1\)/);
    expect(readFileSync(join(root, 'test-integration-rootless', 'docker.log'), 'utf8')).toMatch(/Running in rootless mode/);
    expect(leftovers(root, source.dir)).toEqual([]);
  });

  it("passes integration-cli's TestDockerCLIInfoSuite through DOCKERCLI_INTEGRATION_VERSION's client", { timeout: 1_800_000 }, async () => {
    const result = await runTask('test-integration', ['--output', 'json'], {
      TEST_INTEGRATION_DIR: './integration-cli',
      TESTFLAGS: '-test.run (TestDockerCLIInfoSuite)/',
    });
    const summary = summaryOf(result.stdout);
    expect(summary.packages.flatMap((p) => p.failures)).toEqual([]);
    expect(result.code).toBe(0);
    // A shard's -test.run (Suites)/ runs each suite on its own, with its own row and reports.
    const [cli] = summary.packages;
    expect(cli?.dir).toBe('./integration-cli TestDockerCLIInfoSuite');
    expect(cli?.counts.passed).toBeGreaterThan(5);
    // integration-cli's TestMain prints `docker version` of TEST_CLIENT_BINARY: the cli-integration bundle's, not the current client.
    expect(readFileSync(join(inject('bundlesDir'), 'test-integration', 'amd64-integration-cli-TestDockerCLIInfoSuite-go-test-report.json'), 'utf8')).toMatch(
      /"Output":" Version: +25\.0\.3\\n"/,
    );
    expect(leftovers(join(inject('bundlesDir'), 'test-integration'), source.dir)).toEqual([]);
  });
});
