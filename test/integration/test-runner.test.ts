import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { bundlePaths, CLIENT_BUNDLE } from '../../core/bundle-layout.js';
import { run } from '../../core/process.js';
import { readImageManifest } from '../../image/build.js';
import { readManifest, serializeManifest } from '../../core/manifest.js';
import { allPids, argvOf, exeOf } from '../../core/procfs.js';
import type { TestRunEvent } from '../../testrunner/events.js';
import { parseEventLine } from '../../testrunner/inside.js';
import { UPLINK_DEVICE } from '../../testrunner/uplink.js';
import { projectRoot } from '../../tasks/paths.js';
import { runTask } from '../support/cli.js';
import { freePort } from '../../core/free-port.js';
import { tempDir } from '../support/temp.js';
import { DelveClient } from '../support/delve-client.js';
import { FixtureRepo } from '../support/git-repos.js';

/**
 * The runner end to end on a fixture "moby tree" (test/fixtures/moby-tests):
 * real go, gotestsum, namespaces and a test daemon from the bundle, whose
 * manifest is rewritten to say it was built from that tree (DAEMON_SRC).
 */
function fixtureSource(): { dir: string; commit: string } {
  const dir = tempDir('moby-tests');
  cpSync(join(projectRoot, 'test', 'fixtures', 'moby-tests'), dir, { recursive: true });
  const repo = new FixtureRepo(dir);
  return { dir, commit: repo.commit({}, 'fixture') };
}

/** A bundles root whose binary-daemon is the real bundle (hard links) with a manifest that names the fixture as dockerd's source. */
function fixtureBundles(source: { dir: string; commit: string }): string {
  const { commit } = source;
  const root = tempDir('runner-bundles');
  const real = bundlePaths(inject('bundlesDir')).current;
  const copy = bundlePaths(root).current;
  mkdirSync(copy);
  for (const name of readdirSync(real)) if (!name.startsWith('manifest.json')) linkSync(join(real, name), join(copy, name));
  const manifest = readManifest(real);
  const daemon = manifest.components.daemon;
  if (!daemon) throw new Error('the bundle has no daemon component');
  daemon.source = { kind: 'path', identity: `git ${commit}`, version: 'fixture', commit, origin: { dir: source.dir } };
  const text = serializeManifest(manifest);
  writeFileSync(join(copy, 'manifest.json'), text);
  writeFileSync(join(copy, 'manifest.json.sha256'), `${createHash('sha256').update(text).digest('hex')}  manifest.json\n`);
  writeFileSync(join(copy, 'manifest.json.md5'), `${createHash('md5').update(text).digest('hex')}  manifest.json\n`);
  return root;
}

function events(stdout: string): TestRunEvent[] {
  return stdout
    .split('\n')
    .map((line) => parseEventLine(line))
    .filter((event): event is TestRunEvent => event !== undefined);
}

function summaryOf(stdout: string): Extract<TestRunEvent, { type: 'summary' }> {
  const summary = events(stdout).find((event) => event.type === 'summary');
  if (summary?.type !== 'summary') throw new Error(`no summary in:\n${stdout}`);
  return summary;
}

/** Nothing of a run may remain: no mount under its folders, no process running a binary from its bundle or results, no uplink. */
function leftovers(root: string): string[] {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((line) => line.includes(root) || line.includes(source.dir) || /^mmk-(run|tmp) /.test(line));
  const processes = allPids()
    .filter((pid) => (exeOf(pid) ?? '').startsWith(root) || ((argvOf(pid)[0] ?? '').endsWith('slirp4netns') && argvOf(pid).includes(UPLINK_DEVICE)))
    .map((pid) => `${pid} ${argvOf(pid).join(' ')}`);
  return [...mounts, ...processes];
}

/** The runner on the fixture bundles with JSON events; `reached` resolves at the first event of `type`. */
function startRunner(args: string[], extraEnv: Record<string, string>, type: TestRunEvent['type']) {
  const child = spawn(
    join(projectRoot, 'node_modules', '.bin', 'tsx'),
    [join(projectRoot, 'tasks', 'test-integration.ts'), '--bundles', bundles, ...args, '--output', 'json'],
    {
      cwd: projectRoot,
      env: { ...process.env, ...env, ...extraEnv, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
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
    const result = await runTask(
      'test-integration',
      ['--bundles', bundles, '--run', 'TestHarnessEnvironment|TestDevContainer|TestSubtests|TestSkipped', '--output', 'json'],
      env,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = summaryOf(result.stdout);
    expect(summary.packages.map((p) => [p.dir, p.counts, p.failures])).toEqual([['./integration/fixture', { passed: 5, failed: 0, skipped: 1 }, []]]);
    expect(existsSync('/mmk-fixture-root-write')).toBe(false);
    expect(existsSync('/etc/docker/plugins')).toBe(false);
    const finished = events(result.stdout).filter((event) => event.type === 'test-finished');
    expect(finished.map((event) => event.type === 'test-finished' && event.test)).toContain('TestSubtests/second');
    const results = join(bundles, 'test-integration');
    const report = readFileSync(join(results, 'amd64-integration-fixture-go-test-report.json'), 'utf8');
    expect(report).toContain('"Test":"TestHarnessEnvironment"');
    expect(readFileSync(join(results, 'amd64-integration-fixture-junit-report.xml'), 'utf8')).toContain('TestHarnessEnvironment');
    expect(summary.notes).toContain(
      'integration-cli: skipped, the filter "TestHarnessEnvironment|TestDevContainer|TestSubtests|TestSkipped" omits all integration-cli tests',
    );
    expect(leftovers(bundles)).toEqual([]);
    expect(existsSync('/sys/class/net/docker0')).toBe(docker0Before);
  });

  it('exits 1 on a failing test and names its recognised cause with its last lines', async () => {
    const result = await runTask('test-integration', ['--bundles', bundles, '--run', 'TestNeedsRegistry|TestSkipped'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL \.\/integration\/fixture TestNeedsRegistry — needs a registry: Docker Hub unreachable/);
    expect(result.stdout).toContain('pulling busybox:1.36');
    expect(result.stdout).toMatch(/\.\/integration\/fixture\s+0\s+1\s+1\s/);
    expect(result.stdout).toMatch(/failures by cause \(1\):\n\s+1 {2}needs a registry: Docker Hub unreachable\n\s+0 {2}cause not recognised/);
    expect(leftovers(bundles)).toEqual([]);
  });

  it('stops the test binary, the daemon and its namespaces on Ctrl-C and exits 130', async () => {
    const { child, reached: started, exited } = startRunner(['--run', 'TestSlow'], {}, 'package-started');
    await started;
    await new Promise((resolve) => setTimeout(resolve, 2000)); // TestSlow is running
    const before = Date.now();
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(Date.now() - before).toBeLessThan(60_000);
    expect(leftovers(bundles)).toEqual([]);
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
    expect(leftovers(bundles)).toEqual([]);
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
    expect(leftovers(brokenBundles)).toEqual([]);
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

  it(
    '--vm runs the package inside the machine image: its kernel and cgroup v2, the harness assumptions still hold, the reports come back',
    { timeout: 900_000 },
    async () => {
      // The machine carries the client bundle too (image.yml's init); the fixture root borrows the real one.
      symlinkSync(realpathSync(bundlePaths(inject('bundlesDir'), CLIENT_BUNDLE).current), bundlePaths(bundles, CLIENT_BUNDLE).current);
      const result = await runTask('test-integration', ['--vm', '--bundles', bundles, '--run', 'TestHarnessEnvironment|TestKernel', '--output', 'json'], env);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^vm: accelerator: (kvm|tcg) — /m);
      const summary = summaryOf(result.stdout);
      expect(summary.packages.map((p) => [p.dir, p.counts, p.failures])).toEqual([['./integration/fixture', { passed: 2, failed: 0, skipped: 0 }, []]]);
      // The report came back from the guest and says where the tests ran: the image's kernel, cgroup v2 (this machine has v1).
      const release = readImageManifest(join(bundles, 'image'))?.kernel.release ?? 'no image';
      const report = readFileSync(join(bundles, 'test-integration', 'amd64-integration-fixture-go-test-report.json'), 'utf8');
      expect(report).toContain(`kernel ${release}, cgroup v2`);
      expect(readFileSync(join(bundles, 'test-integration', 'docker.log'), 'utf8')).toContain('API listen on');
      expect(leftovers(bundles)).toEqual([]);
      expect((await run(['pgrep', '-f', `${bundles}/.image-generations`])).stdout.trim()).toBe('');
    },
  );

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
    expect(leftovers(bundles)).toEqual([]);

    const { child, reached, exited } = startRunner(['--run', 'TestSlow|TestSecondPackage', '--jobs', '2'], {}, 'package-started');
    await reached;
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(leftovers(bundles)).toEqual([]);
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
    expect(leftovers(bundles)).toEqual([]);
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
    expect(leftovers(join(inject('bundlesDir'), 'test-daemons'))).toEqual([]);
    expect(leftovers(join(inject('bundlesDir'), 'test-integration'))).toEqual([]);
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
    expect(leftovers(root)).toEqual([]);
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
    expect(leftovers(join(inject('bundlesDir'), 'test-integration'))).toEqual([]);
  });
});
