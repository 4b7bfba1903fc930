import type { HostFacts } from './host-facts.js';

/**
 * Causes of failure that are not the daemon's (nor the contributor's change),
 * recognised from a failing test's output and, for the kernel's part, from
 * what was probed on this host. Only ever a label in the summary: no test is
 * skipped or filtered because of it. Order matters: the first rule that
 * matches names the cause.
 */
interface CauseRule {
  cause: string;
  pattern: RegExp;
  /** The rule holds only on a host where this is true; without facts (a unit test's tally) it is not assumed. */
  when?: (facts: HostFacts) => boolean;
  /** Only for failures in these packages (moby's directory names). */
  dir?: RegExp;
  /** Only for failures of tests with these names. */
  test?: RegExp;
}

/** Evidence lines the runner adds to a failure's output (run-package.ts, source-evidence.ts), matched by the rules below. */
export const CI_SKIP_EVIDENCE = "upstream source: moby's CI skips it";
export const STORAGE_DRIVER_EVIDENCE = 'test daemon storage driver: ';

/** Where a failure happened, for rules that hold in one package only. */
export interface FailurePlace {
  dir: string;
  test: string;
}

const RULES: readonly CauseRule[] = [
  {
    cause: 'needs a registry: Docker Hub unreachable',
    pattern:
      /(?:registry-1\.docker\.io|index\.docker\.io|auth\.docker\.io|production\.cloudflare\.docker\.com)|pull access denied|failed to resolve reference "docker\.io\/|failed to do request: Head "https:\/\/[^"]*docker\.io/,
  },
  // integration-cli's requirements_test.go Network() panics instead of skipping when hub.docker.com does not answer: the rest of that suite's binary does not run.
  {
    cause: "needs a registry: Docker Hub unreachable (integration-cli's Network() panics, ending its suite)",
    pattern: /Timeout for GET request on https:\/\/hub\.docker\.com/,
  },
  // TEST_INTEGRATION_CONTAINERD_EMBEDDED: internal/testutil adds --feature embedded-containerd, and a test's own daemon.json with "features" then conflicts.
  {
    cause: "upstream's test under the embedded mode: its daemon.json sets features, which the mode's --feature flag also sets, and dockerd refuses both",
    pattern: /the following directives are specified both as a flag and in the configuration file: features: \(from flag: map\[embedded-containerd:true\]/,
  },
  // The search endpoint always asks Docker Hub's index; without it the daemon answers a bare 500.
  { cause: 'needs a registry: image search asks Docker Hub', pattern: /search_test\.go:\d+: assertion failed: 500 \(res\.StatusCode int\)/ },
  {
    cause: 'needs a registry: no test registry (registry:2 binary or image)',
    pattern: /registry(?:-v2)?(?:-schema1)? not found|could not find registry binary|exec: "registry(?:-v2)?": executable file not found/,
  },
  {
    cause: 'needs internet DNS',
    pattern:
      /lookup [\w.-]+ on [\d.:[\]]+: (?:no such host|server misbehaving|i\/o timeout|read udp)|Temporary failure in name resolution|Temporary failure resolving|no such host|no servers could be reached|server can't find [\w.-]+: NXDOMAIN|external DNS [\w:.[\]]+ returned response with no answers:\\n;; opcode: QUERY, status: NXDOMAIN/,
  },
  { cause: 'needs internet access', pattern: /network is unreachable|dial tcp [^:]+:\d+: i\/o timeout|could not resolve host/i },
  {
    cause: 'host / is not a shared mount',
    pattern: /is not a shared mount|not a shared or slave mount|make-rshared|path .* is mounted on .* but it is not a shared/,
  },
  { cause: 'needs cgroup v2 (this host has cgroup v1)', pattern: /cgroup v2|cgroupv2|cgroup2 is required|requires cgroup ?v2/i },
  {
    cause: "kernel lacks bridge VLAN filtering: moby's harness cannot re-create docker0 as it was",
    pattern: /Failed to re-create default bridge after test/,
    when: (facts) => !facts.bridgeVlanFiltering,
  },
  { cause: 'kernel lacks dummy links (CONFIG_DUMMY)', pattern: /type dummy[\s\S]*Unknown device type/, when: (facts) => !facts.dummyLinks },
  // A network create the daemon refused, as the log of a daemon the test started records it, with the request.
  {
    cause: 'kernel lacks ipvlan links (CONFIG_IPVLAN)',
    pattern: /error-response="operation not supported" form-data="[^\n]*\\"Driver\\":\\"ipvlan\\"/,
    when: (facts) => !facts.ipvlanLinks,
  },
  {
    cause: 'kernel lacks dummy links (CONFIG_DUMMY)',
    pattern: /error-response="operation not supported" form-data="[^\n]*\\"Driver\\":\\"macvlan\\"/,
    when: (facts) => !facts.dummyLinks,
  },
  {
    cause: 'kernel lacks ipvlan links (CONFIG_IPVLAN)',
    dir: /\/ipvlan$/,
    pattern: /operation not supported|Unknown device type/,
    when: (facts) => !facts.ipvlanLinks,
  },
  // A macvlan network without a parent gets a dummy link made by the driver: EOPNOTSUPP from the daemon.
  { cause: 'kernel lacks dummy links (CONFIG_DUMMY)', dir: /\/macvlan$/, pattern: /operation not supported/, when: (facts) => !facts.dummyLinks },
  // A published service port that never answers, from a swarm daemon that logged it has no IPVS to balance with.
  {
    cause: "kernel lacks IPVS (CONFIG_IP_VS): swarm's routing mesh cannot reach the service",
    pattern: /(?:Connection refused|connection refused|timeout hit after)[\s\S]*Could not get ipvs family information/,
    when: (facts) => !facts.ipvs,
  },
  {
    cause: "host's root lacks CAP_SYS_RESOURCE: a container's rlimit cannot rise past the inherited hard limit",
    pattern: /error setting rlimit type \d+: operation not permitted/,
    when: (facts) => !facts.capSysResource,
  },
  { cause: 'kernel lacks SCTP (CONFIG_IP_SCTP)', pattern: /\/sctp: protocol not supported/, when: (facts) => !facts.sctp },
  // The port allocator's sctp subtests, where the socket call's error comes bare.
  { cause: 'kernel lacks SCTP (CONFIG_IP_SCTP)', test: /\/sctp$/, pattern: /protocol not supported/, when: (facts) => !facts.sctp },
  // osl's tests make dummy links and look them up by name.
  { cause: 'kernel lacks dummy links (CONFIG_DUMMY)', pattern: /failed to get link by name "dummy\d+": Link not found/, when: (facts) => !facts.dummyLinks },
  {
    cause: "kernel lacks V4 XFS (CONFIG_XFS_SUPPORT_V4): the quota tests' mkfs.xfs -m crc=0 image does not mount",
    pattern: /mount failed: mount: [^\n]*wrong fs type, bad option, bad superblock on \/dev\/loop/,
    when: (facts) => !facts.xfsV4,
  },
  {
    cause: 'kernel lacks magic SysRq (CONFIG_MAGIC_SYSRQ): no /proc/sysrq-trigger',
    pattern: /\/proc\/sysrq-trigger: No such file or directory/,
    when: (facts) => !facts.magicSysrq,
  },
  { cause: 'kernel lacks VLAN sub-interfaces (CONFIG_VLAN_8021Q)', pattern: /type vlan[\s\S]*Unknown device type/, when: (facts) => !facts.vlanLinks },
  {
    cause: 'kernel keeps IPv6 multicast routes in the local table; the test counts them in main',
    pattern: /expected \d+ routes, got \d+:\n(?:.*\n)*?\s*(?:fe80::|fd[0-9a-f]{2}:)/,
    when: (facts) => facts.ipv6MulticastRouteTable === 'local',
  },
  {
    cause:
      "the native snapshotter (DOCKER_GRAPHDRIVER=native, the default) counts a container's whole image copy, so `ps -s` hides a 2-byte write (it passes on overlayfs, as moby CI runs it)",
    pattern: new RegExp(`newBytes is less than baseBytes \\+ 2[\\s\\S]*${STORAGE_DRIVER_EVIDENCE}native$`, 'm'),
  },
  {
    cause: "upstream marks it FIXME and moby's CI (GitHub Actions) skips it",
    pattern: new RegExp(`^${CI_SKIP_EVIDENCE}`, 'm'),
  },
  {
    cause: 'needs a kernel module or feature this host lacks',
    pattern: /modprobe:|Module \S+ not found|operation not supported|Unknown device type|unknown filesystem type/,
  },
  { cause: 'needs a docker CLI (TEST_CLIENT_BINARY)', pattern: /exec: "docker": executable file not found|TEST_CLIENT_BINARY/ },
  { cause: 'timed out (TIMEOUT)', pattern: /panic: test timed out after/ },
];

export function classifyFailure(lines: readonly string[], facts?: HostFacts, place?: FailurePlace): string | undefined {
  const text = lines.join('\n');
  return RULES.find(
    (rule) =>
      (!rule.when || (facts !== undefined && rule.when(facts))) &&
      (!rule.dir || (place !== undefined && rule.dir.test(place.dir))) &&
      (!rule.test || (place !== undefined && rule.test.test(place.test))) &&
      rule.pattern.test(text),
  )?.cause;
}
