import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { classifyFailure, STORAGE_DRIVER_EVIDENCE } from '../../testrunner/classify.js';
import { kernelDifferences, type HostFacts } from '../../testrunner/host-facts.js';
import { integrationDaemonArgs, integrationTestFlags } from '../../testrunner/integration.js';
import { namespaceArgv } from '../../testrunner/namespace.js';
import { parseIntegrationOptions, parseUnitOptions, scaleDuration } from '../../testrunner/options.js';
import { dirsDeclaring, junitPackageName, planSuites, reportStem } from '../../testrunner/packages.js';
import { PackageTally, parseGoTestLine } from '../../testrunner/results.js';
import { ciSkipEvidence } from '../../testrunner/source-evidence.js';
import { causeLines, passRate, summaryTable } from '../../testrunner/summary.js';
import { mobyTestEnv } from '../../testrunner/test-env.js';
import { projectRoot } from '../../tasks/paths.js';

const fixtures = join(projectRoot, 'test', 'fixtures');

describe('moby variables and flags', () => {
  it('reads moby names with moby defaults', () => {
    const options = parseIntegrationOptions([], {});
    expect(options).toMatchObject({
      dirs: undefined,
      filter: undefined,
      testFlags: [],
      failFast: false,
      skipIntegration: false,
      skipIntegrationCli: false,
      graphDriver: 'native',
      userlandProxy: 'true',
      experimental: false,
      timeout: '10m',
    });
    expect(parseUnitOptions([], {})).toMatchObject({ dirs: './...', timeout: '5m', testFlags: [] });
  });

  it('treats any non-empty value as set, as `[ -n "$VAR" ]` does, and splits lists on white space', () => {
    const options = parseIntegrationOptions([], {
      TEST_INTEGRATION_DIR: './integration/system  integration/container',
      TEST_FILTER: 'TestInfo',
      TESTFLAGS: '-test.count=1  -test.failfast',
      TEST_INTEGRATION_FAIL_FAST: '0',
      TEST_SKIP_INTEGRATION_CLI: '1',
      DOCKER_GRAPHDRIVER: 'overlay2',
      DOCKER_USERLANDPROXY: 'false',
      DOCKER_EXPERIMENTAL: '1',
      TIMEOUT: '1h30m',
    });
    expect(options).toMatchObject({
      dirs: ['./integration/system', './integration/container'],
      filter: 'TestInfo',
      testFlags: ['-test.count=1', '-test.failfast'],
      failFast: true,
      skipIntegrationCli: true,
      graphDriver: 'overlay2',
      userlandProxy: 'false',
      experimental: true,
      timeout: '1h30m',
    });
    expect(parseIntegrationOptions([], { TEST_FILTER: '', DOCKER_GRAPHDRIVER: '' })).toMatchObject({ filter: undefined, graphDriver: 'native' });
  });

  it('lets a flag win over its variable, and takes packages as arguments', () => {
    const env = { TEST_INTEGRATION_DIR: './integration/system', TIMEOUT: '5m' };
    expect(parseIntegrationOptions(['--dirs', './integration/image', '--timeout', '20m', '--run', 'TestX'], env)).toMatchObject({
      dirs: ['./integration/image'],
      timeout: '20m',
      filter: 'TestX',
    });
    expect(parseIntegrationOptions(['./integration/volume'], env).dirs).toEqual(['./integration/volume']);
    expect(parseUnitOptions(['--dirs', './daemon/...'], { TESTDIRS: './pkg/...' }).dirs).toBe('./daemon/...');
  });

  it('repeats as moby does: TIMEOUT grows with TEST_REPEAT; TESTCOVERAGE turns coverage on', () => {
    expect(parseIntegrationOptions([], { TEST_REPEAT: '3', TIMEOUT: '10m', TESTCOVERAGE: '1' })).toMatchObject({ repeat: 3, timeout: '1800s', coverage: true });
    expect(parseIntegrationOptions(['--repeat', '2'], { TIMEOUT: '1h30m' })).toMatchObject({ repeat: 2, timeout: '10800s', coverage: false });
    expect(parseIntegrationOptions([], {})).toMatchObject({ repeat: 1, timeout: '10m' });
    expect(() => parseIntegrationOptions([], { TEST_REPEAT: '0' })).toThrow('TEST_REPEAT=0 is not a positive whole number');
    expect(() => parseIntegrationOptions(['--repeat', 'twice'], {})).toThrow('--repeat=twice is not a positive whole number');
    expect(scaleDuration('1m30s', 2)).toBe('180s');
  });

  it('refuses bad values with a one-line error naming the variable', () => {
    expect(() => parseIntegrationOptions([], { TIMEOUT: 'ten minutes' })).toThrow(UserError);
    expect(() => parseIntegrationOptions([], { TIMEOUT: 'ten minutes' })).toThrow('TIMEOUT=ten minutes is not a Go duration');
    expect(() => parseIntegrationOptions([], { DOCKER_USERLANDPROXY: 'yes' })).toThrow(/DOCKER_USERLANDPROXY=yes must be true or false/);
    expect(() => parseIntegrationOptions(['--dirs', '../elsewhere'], {})).toThrow(/--dirs: \.\.\/elsewhere is not a package directory inside the source tree/);
    expect(() => parseIntegrationOptions(['--bogus'], {})).toThrow(expect.objectContaining({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }));
  });

  it('builds the daemon flags and test flags of .integration-daemon-start and run_test_integration_suites', () => {
    const options = parseIntegrationOptions([], { TEST_FILTER: 'TestPs', TESTFLAGS: '-test.count=1', DOCKER_EXPERIMENTAL: '1' });
    expect(integrationDaemonArgs(options)).toEqual(['--debug', '--storage-driver', 'native', '--userland-proxy=true', '--experimental']);
    expect(integrationTestFlags(options, './integration/container')).toEqual(['-test.v', '-test.timeout=10m', '-test.count=1', '-test.run', 'TestPs']);
    expect(integrationTestFlags(options, './integration-cli')).toEqual(['-test.v', '-test.timeout=360m', '-test.count=1', '-test.run', '/TestPs']);
  });

  it('gives a test binary only the variables of moby test_env, the bundle first on PATH', () => {
    const env = mobyTestEnv({
      env: { CI: 'true', DOCKER_BUILDKIT: '1', SECRET_TOKEN: 'x', PATH: '/home/me/bin', GOFLAGS: '-mod=vendor' },
      dest: '/b/test-integration',
      dockerHost: 'unix:///b/d/docker.sock',
      bundleDir: '/b/binary-daemon',
      goBinary: '/usr/local/go/bin/go',
      gocache: '/c',
      gopath: '/g',
      graphDriver: 'native',
      userlandProxy: 'true',
    });
    expect(env).toEqual({
      CI: 'true',
      DOCKER_BUILDKIT: '1',
      DEST: '/b/test-integration',
      DOCKER_HOST: 'unix:///b/d/docker.sock',
      DOCKER_GRAPHDRIVER: 'native',
      DOCKER_USERLANDPROXY: 'true',
      GOCACHE: '/c',
      GOPATH: '/g',
      GOTOOLCHAIN: 'local',
      GOTRACEBACK: 'all',
      HOME: '/b/test-integration/fake-HOME',
      PATH: '/b/binary-daemon:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    });
  });
});

describe('packages', () => {
  it('names reports as moby does', () => {
    expect(junitPackageName('./integration/network/bridge', 'amd64')).toBe('amd64.integration.network.bridge');
    expect(reportStem(junitPackageName('./integration-cli', 'arm64'))).toBe('arm64-integration-cli');
  });

  it('picks the packages that declare a test matching TEST_FILTER, as setup_integration_test_filter greps', async () => {
    const tree = join(fixtures, 'moby-tests');
    expect(await dirsDeclaring(tree, 'TestSubtests')).toEqual(['./integration/fixture']);
    expect(await dirsDeclaring(tree, 'TestNothingLikeThis')).toEqual([]);
    const plan = await planSuites(parseIntegrationOptions([], { TEST_FILTER: 'TestNothingLikeThis' }), tree, {});
    expect(plan).toEqual({
      integrationDirs: [],
      runIntegrationCli: false,
      notes: [
        'integration: skipped, the filter "TestNothingLikeThis" omits all integration tests',
        'integration-cli: skipped, the filter "TestNothingLikeThis" omits all integration-cli tests',
      ],
    });
  });

  it('runs integration-cli only when it is named among explicit packages', async () => {
    const tree = join(fixtures, 'moby-tests');
    expect(await planSuites(parseIntegrationOptions(['--dirs', './integration/fixture'], {}), tree, {})).toMatchObject({ runIntegrationCli: false });
    expect(await planSuites(parseIntegrationOptions(['--dirs', './integration/fixture ./integration-cli'], {}), tree, {})).toMatchObject({
      integrationDirs: ['./integration/fixture'],
      runIntegrationCli: true,
    });
  });
});

function tally(file: string, exitCode: number): { tally: PackageTally; failures: ReturnType<PackageTally['finish']>; finished: string[] } {
  const result = new PackageTally('./integration/fixture');
  const finished: string[] = [];
  for (const line of readFileSync(join(fixtures, 'go-test-json', file), 'utf8').split('\n')) {
    const event = parseGoTestLine(line);
    if (!event) continue;
    const done = result.add(event);
    if (done) finished.push(`${done.outcome} ${done.test}`);
  }
  return { tally: result, failures: result.finish(exitCode), finished };
}

describe('results from real go test -json output', () => {
  it('counts subtests as gotestsum does and reports the failure with its cause and last lines', () => {
    const { tally: result, failures, finished } = tally('registry-failure.jsonl', 1);
    expect(result.counts).toEqual({ passed: 3, failed: 1, skipped: 1 });
    expect(finished).toContain('pass TestSubtests/second');
    expect(failures).toEqual([
      {
        dir: './integration/fixture',
        test: 'TestNeedsRegistry',
        cause: 'needs a registry: Docker Hub unreachable',
        lines: [
          '    fixture_test.go:66: pulling busybox:1.36',
          '    fixture_test.go:67: Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 127.0.0.11:53: no such host',
        ],
      },
    ]);
  });

  it('counts a test the timeout killed as failed and shows the panic first', () => {
    const { tally: result, failures } = tally('timeout.jsonl', 1);
    expect(result.counts).toEqual({ passed: 3, failed: 1, skipped: 0 });
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ test: 'TestSlow', cause: 'timed out (TIMEOUT)' });
    expect(failures[0]?.lines[0]).toBe('panic: test timed out after 3s');
  });

  it('ignores lines that are not test2json events', () => {
    expect(parseGoTestLine('ok  \tpkg\t0.1s')).toBeUndefined();
    expect(parseGoTestLine('{"not":"an event"}')).toBeUndefined();
  });

  it('lists a parent only when no subtest of it failed, and a package that failed outside any test', () => {
    const result = new PackageTally('./x');
    const add = (Action: string, Test?: string, Output?: string) =>
      result.add({ Action, Package: 'p', ...(Test ? { Test } : {}), ...(Output ? { Output } : {}) });
    add('run', 'TestA');
    add('run', 'TestA/one');
    add('output', 'TestA/one', 'boom\n');
    add('fail', 'TestA/one');
    add('fail', 'TestA');
    expect(result.finish(1).map((failure) => failure.test)).toEqual(['TestA/one']);
    const panicked = new PackageTally('./y');
    panicked.add({ Action: 'output', Package: 'p', Output: 'panic: error loading frozen images\n' });
    panicked.add({ Action: 'fail', Package: 'p' });
    expect(panicked.finish(1)).toEqual([{ dir: './y', test: '(package)', lines: ['panic: error loading frozen images'] }]);
  });

  it('takes the last run of a test that gotestsum reran', () => {
    const result = new PackageTally('./flaky');
    result.add({ Action: 'run', Package: 'p', Test: 'TestFlakyX' });
    result.add({ Action: 'fail', Package: 'p', Test: 'TestFlakyX' });
    result.add({ Action: 'run', Package: 'p', Test: 'TestFlakyX' });
    result.add({ Action: 'pass', Package: 'p', Test: 'TestFlakyX' });
    expect(result.counts).toEqual({ passed: 1, failed: 0, skipped: 0 });
    expect(result.finish(0)).toEqual([]);
  });
});

describe('failure causes', () => {
  it.each([
    ['Error response from daemon: pull access denied for busybox, repository does not exist', 'needs a registry: Docker Hub unreachable'],
    ['dial tcp: lookup example.com on 127.0.0.11:53: no such host', 'needs internet DNS'],
    ['connect: network is unreachable', 'needs internet access'],
    ['path / is mounted on / but it is not a shared mount', 'host / is not a shared mount'],
    ['panic: test timed out after 10m0s', 'timed out (TIMEOUT)'],
    [';; connection timed out; no servers could be reached', 'needs internet DNS'],
    ["** server can't find docker.com: NXDOMAIN", 'needs internet DNS'],
    // A daemon's log: the external server the test gave (--dns 8.8.8.8) answers NXDOMAIN for a public name.
    [
      'level=debug msg="[resolver] external DNS udp:8.8.8.8 returned response with no answers:\\n;; opcode: QUERY, status: NXDOMAIN, id: 14539\\n"',
      'needs internet DNS',
    ],
    [
      'panic: Timeout for GET request on https://hub.docker.com',
      "needs a registry: Docker Hub unreachable (integration-cli's Network() panics, ending its suite)",
    ],
    ['pull_test.go:126: exec: "registry": executable file not found in $PATH', 'needs a registry: no test registry (registry:2 binary or image)'],
    ['Error: Unknown device type.', 'needs a kernel module or feature this host lacks'],
    ['Failed to re-create default bridge after test: operation not supported', 'needs a kernel module or feature this host lacks'],
  ])('%s → %s', (line, cause) => {
    expect(classifyFailure([line])).toBe(cause);
  });

  it('leaves a failure it does not recognise unclassified', () => {
    expect(classifyFailure(['assertion failed: 1 (int) != 2 (int)'])).toBeUndefined();
  });

  const thisKindOfKernel: HostFacts = {
    bridgeVlanFiltering: false,
    dummyLinks: false,
    ipvlanLinks: false,
    vlanLinks: false,
    ipvs: false,
    magicSysrq: false,
    capSysResource: false,
    xfsV4: false,
    sctp: false,
    ipv6MulticastRouteTable: 'local',
  };
  const fullKernel: HostFacts = {
    bridgeVlanFiltering: true,
    dummyLinks: true,
    ipvlanLinks: true,
    vlanLinks: true,
    ipvs: true,
    magicSysrq: true,
    capSysResource: true,
    xfsV4: true,
    sctp: true,
    ipv6MulticastRouteTable: 'main',
  };
  const routeCount = [
    'network_linux_test.go:265: assertion failed: 5 (int) != 7 (expRoutes int): expected 7 routes, got 5:',
    '    fd54:7a1b:8269::/64 dev eth0  metric 256 ',
    '    fe80::/64 dev eth0  metric 256 ',
  ];

  it('blames the kernel only for what the probe found missing on this host', () => {
    const bridge = ['main_test.go:54: assertion failed: error is not nil: operation not supported: Failed to re-create default bridge after test'];
    expect(classifyFailure(bridge, thisKindOfKernel)).toMatch(/kernel lacks bridge VLAN filtering/);
    expect(classifyFailure(bridge, fullKernel)).toBe('needs a kernel module or feature this host lacks');
    const dummy = ['Command:  ip link add di-dummy0 type dummy', 'Stderr:   Error: Unknown device type.'];
    expect(classifyFailure(dummy, thisKindOfKernel)).toBe('kernel lacks dummy links (CONFIG_DUMMY)');
    expect(classifyFailure(routeCount, thisKindOfKernel)).toMatch(/IPv6 multicast routes in the local table/);
    expect(classifyFailure(routeCount, fullKernel)).toBeUndefined();
    expect(classifyFailure(routeCount)).toBeUndefined();
    const sysrq = [
      'Command:  docker run --privileged busybox sh -c touch /proc/sysrq-trigger',
      'Stderr:   touch: /proc/sysrq-trigger: No such file or directory',
    ];
    expect(classifyFailure(sysrq, thisKindOfKernel)).toMatch(/kernel lacks magic SysRq/);
    expect(classifyFailure(sysrq, fullKernel)).toBeUndefined();
    const rlimit = [
      'docker_cli_run_test.go:3952: assertion failed: error is not nil: exit status 125',
      'level=debug msg="error response for POST request" error-response="failed to create task for container: … error setting rlimits for ready process: error setting rlimit type 7: operation not permitted"',
    ];
    expect(classifyFailure(rlimit, thisKindOfKernel)).toMatch(/lacks CAP_SYS_RESOURCE/);
    expect(classifyFailure(rlimit, fullKernel)).toBeUndefined();
    const xfs = [
      'testhelpers.go:93: assertion failed: error is not nil: exit status 32: mount failed: mount: /tmp/TestBlockDev1/001: wrong fs type, bad option, bad superblock on /dev/loop0, missing codepage or helper program, or other error.',
    ];
    expect(classifyFailure(xfs, thisKindOfKernel)).toMatch(/kernel lacks V4 XFS/);
    expect(classifyFailure(xfs, fullKernel)).toBeUndefined();
    const sctp = ['osallocator_linux_test.go:63: assertion failed: error is not nil: failed to create socket for 0.0.0.0:31234/sctp: protocol not supported'];
    expect(classifyFailure(sctp, thisKindOfKernel)).toBe('kernel lacks SCTP (CONFIG_IP_SCTP)');
    expect(classifyFailure(sctp, fullKernel)).toBeUndefined();
    const bare = ['osallocator_linux_test.go:40: assertion failed: error is not nil: protocol not supported'];
    const portallocator = (test: string) => ({ dir: 'libnetwork', test });
    expect(classifyFailure(bare, thisKindOfKernel, portallocator('TestAllocateExactPortInUse/sctp'))).toBe('kernel lacks SCTP (CONFIG_IP_SCTP)');
    expect(classifyFailure(bare, thisKindOfKernel, portallocator('TestAllocateExactPortInUse/udp'))).toBeUndefined();
  });

  it("names the kernel's missing ipvlan and dummy links in the packages whose drivers need them, and nowhere else", () => {
    const refused = ['ipvlan_test.go:159: assertion failed: error is not nil: Error response from daemon: operation not supported'];
    const ipvlan = { dir: './integration/network/ipvlan', test: 'TestDockerNetworkIpvlan/L2NilParent' };
    const macvlan = { dir: './integration/network/macvlan', test: 'TestDockerNetworkMacvlan/NilParent' };
    expect(classifyFailure(refused, thisKindOfKernel, ipvlan)).toBe('kernel lacks ipvlan links (CONFIG_IPVLAN)');
    expect(classifyFailure(refused, thisKindOfKernel, macvlan)).toBe('kernel lacks dummy links (CONFIG_DUMMY)');
    expect(classifyFailure(refused, fullKernel, ipvlan)).toBe('needs a kernel module or feature this host lacks');
    expect(classifyFailure(refused, thisKindOfKernel, { dir: './integration/container', test: 'TestX' })).toBe(
      'needs a kernel module or feature this host lacks',
    );
    // Elsewhere, the request in the log of a daemon the test started says which driver asked.
    const logged = (driver: string) => [
      ...refused,
      `time="…" level=debug msg="error response for POST request" error-response="operation not supported" form-data="{\\"Attachable\\":false,\\"Driver\\":\\"${driver}\\",\\"EnableIPv6\\":true}"`,
    ];
    const networking = { dir: './integration/networking', test: 'TestEtcHostsDisconnect' };
    expect(classifyFailure(logged('ipvlan'), thisKindOfKernel, networking)).toBe('kernel lacks ipvlan links (CONFIG_IPVLAN)');
    expect(classifyFailure(logged('macvlan'), thisKindOfKernel, networking)).toBe('kernel lacks dummy links (CONFIG_DUMMY)');
    expect(classifyFailure(logged('bridge'), thisKindOfKernel, networking)).toBe('needs a kernel module or feature this host lacks');
    const mesh = [
      'network_linux_test.go:268: timeout hit after 30s: 404 Not Found not found in: Connecting to 192.168.111.222:8080... failed: Connection refused.',
      'level=error msg="Could not get ipvs family information from the kernel. It is possible that ipvs is not enabled in your kernel."',
    ];
    expect(classifyFailure(mesh, thisKindOfKernel)).toMatch(/kernel lacks IPVS/);
    expect(classifyFailure(mesh, fullKernel)).toBeUndefined();
    const vlan = ['Command:  ip link add link dm-dummy0 name dm-dummy0.60 type vlan id 60', 'Stderr:   Error: Unknown device type.'];
    expect(classifyFailure(vlan, { ...fullKernel, vlanLinks: false })).toBe('kernel lacks VLAN sub-interfaces (CONFIG_VLAN_8021Q)');
  });

  it('names the search endpoint’s bare 500 as Docker Hub’s absence', () => {
    expect(classifyFailure(['search_test.go:23: assertion failed: 500 (res.StatusCode int) != 200 (http.StatusOK int)'])).toMatch(
      /image search asks Docker Hub/,
    );
  });

  it("names the embedded mode's --feature flag colliding with a test's own daemon.json features", () => {
    const line =
      'daemon.go:390: [d9] unable to configure the Docker daemon with file /d/daemon.json: the following directives are specified both as a flag and in the configuration file: features: (from flag: map[embedded-containerd:true], from file: map[buildkit:false])';
    expect(classifyFailure([line])).toMatch(/^upstream's test under the embedded mode/);
    expect(classifyFailure([line.replace('embedded-containerd', 'containerd-snapshotter')])).toBeUndefined();
  });

  it('names a test whose source moby skips on its CI, from the top of its body only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmk-ci-skip-'));
    writeFileSync(
      join(dir, 'docker_cli_events_unix_test.go'),
      [
        'func (s *DockerCLIEventSuite) TestEventsOOMDisableFalse(c *testing.T) {',
        '\ttestRequires(c, DaemonIsLinux, oomControl)',
        '\tskip.If(c, GitHubActions, "FIXME: https://github.com/moby/moby/pull/36541")',
        '}',
        'func (s *DockerCLIRunSuite) TestSlowStdinClosing(c *testing.T) {',
        '\tif DaemonIsWindows() {',
        '\t\tskip.If(c, testEnv.GitHubActions())',
        '\t}',
        '}',
        'func TestNetworkNat(t *testing.T) {',
        '\tskip.If(t, testEnv.GitHubActions, "FIXME: https://github.com/moby/moby/issues/41561")',
        '}',
      ].join('\n'),
    );
    const evidence = ciSkipEvidence(dir);
    const [line] = evidence('TestDockerCLIEventSuite/TestEventsOOMDisableFalse');
    expect(line).toMatch(/pull\/36541/);
    expect(evidence('TestNetworkNat/subtest')[0]).toMatch(/issues\/41561/);
    expect(evidence('TestDockerCLIRunSuite/TestSlowStdinClosing')).toEqual([]);
    const failed = ['docker_cli_events_unix_test.go:75: assertion failed: nEvents is less than 5'];
    expect(classifyFailure([...failed, line ?? ''])).toMatch(/moby's CI \(GitHub Actions\) skips it/);
    expect(classifyFailure(failed)).toBeUndefined();
    rmSync(dir, { recursive: true });
  });

  it("names the native snapshotter's whole-copy sizes only when the run used it", () => {
    const failed = ['docker_cli_ps_test.go:194: assertion failed: newBytes is less than baseBytes + 2'];
    expect(classifyFailure([...failed, `${STORAGE_DRIVER_EVIDENCE}native`])).toMatch(/^the native snapshotter/);
    expect(classifyFailure([...failed, `${STORAGE_DRIVER_EVIDENCE}overlayfs`])).toBeUndefined();
  });

  it('says how this kernel differs, and nothing for a kernel like moby CI’s', () => {
    expect(kernelDifferences(thisKindOfKernel)).toHaveLength(10);
    expect(kernelDifferences(fullKernel)).toEqual([]);
  });
});

describe('summary', () => {
  it('is a table per package with a total, and the share that passed of the tests that ran', () => {
    const packages = [
      { dir: './integration/system', counts: { passed: 61, failed: 0, skipped: 3 }, seconds: 30, exitCode: 0, failures: [], jsonFile: '', junitFile: '' },
      { dir: './integration/image', counts: { passed: 38, failed: 1, skipped: 2 }, seconds: 90, exitCode: 1, failures: [], jsonFile: '', junitFile: '' },
    ];
    expect(summaryTable(packages)).toEqual([
      'package               passed  failed  skipped  minutes',
      './integration/system      61       0        3      0.5',
      './integration/image       38       1        2      1.5',
      'total                     99       1        5      2.0',
    ]);
    expect(passRate(packages)).toBe(99);
  });

  it('counts the failures per cause, the unrecognised ones last', () => {
    const failure = (test: string, cause?: string) => ({ dir: './integration/image', test, lines: [], ...(cause ? { cause } : {}) });
    const hub = 'needs a registry: Docker Hub unreachable';
    const failures = [failure('TestA', hub), failure('TestB'), failure('TestC', hub), failure('TestD', 'needs internet DNS')];
    const packages = [
      { dir: './integration/image', counts: { passed: 1, failed: 5, skipped: 0 }, seconds: 1, exitCode: 1, failures, jsonFile: '', junitFile: '' },
    ];
    expect(causeLines(packages)).toEqual([
      'failures by cause (4):',
      `  2  ${hub}`,
      '  1  needs internet DNS',
      '  1  cause not recognised: look at the daemon or the change',
    ]);
    expect(causeLines([{ ...packages[0]!, failures: [] }])).toEqual([]);
  });
});

describe('namespaces', () => {
  it('enters mount, network and PID namespaces with the bundle init as PID 1, ended with the runner', () => {
    const argv = namespaceArgv(
      {
        overlaid: ['/mod/moby@v2'],
        keep: ['/tmp/x/bundles', '/tmp/x/cache', '/work/p'],
        init: '/b/docker-init',
        execRoot: '/b/exec',
        hostname: '0123456789ab',
      },
      ['node', 'inside.ts'],
    );
    expect(argv.slice(0, 17)).toEqual([
      'setpriv',
      '--pdeathsig',
      'KILL',
      '--',
      'unshare',
      '--mount',
      '--net',
      '--pid',
      '--uts',
      '--fork',
      '--kill-child',
      '--mount-proc',
      '--propagation',
      'private',
      '--',
      '/b/docker-init',
      '-s',
    ]);
    expect(argv.slice(argv.indexOf('mmk-namespace'))).toEqual([
      'mmk-namespace',
      '/b/exec',
      '0123456789ab',
      '1',
      '/mod/moby@v2',
      '1',
      '/tmp/x',
      'node',
      'inside.ts',
    ]);
  });
});
