import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { run } from '../core/process.js';

/**
 * What this kernel can do that moby's tests take for granted. Probed inside
 * the tests' private network namespace (so nothing the probe makes is seen
 * outside it), and used only to name the cause of a failure: a test that
 * fails with "Unknown device type" on a kernel that has dummy links is not
 * blamed on the kernel.
 */
export interface HostFacts {
  /** CONFIG_BRIDGE_VLAN_FILTERING: moby's harness re-creates docker0 with every attribute it had, this one included. */
  bridgeVlanFiltering: boolean;
  /** CONFIG_DUMMY: network tests build their topologies from dummy links, and the macvlan and ipvlan drivers make one when a network has no parent. */
  dummyLinks: boolean;
  /** CONFIG_IPVLAN: the ipvlan driver's links. */
  ipvlanLinks: boolean;
  /** CONFIG_VLAN_8021Q: sub-interfaces (parent eth0.10) of the macvlan and ipvlan tests. */
  vlanLinks: boolean;
  /** CONFIG_IP_VS: swarm's service load balancing (the routing mesh, service VIPs) programs IPVS. */
  ipvs: boolean;
  /** Root's CAP_SYS_RESOURCE, which moby's privileged dev container has: without it no rlimit can rise past the inherited hard limit. */
  capSysResource: boolean;
  /** CONFIG_XFS_SUPPORT_V4: moby's quota tests format their XFS image as V4 (mkfs.xfs -m crc=0), which newer kernels may leave out. */
  xfsV4: boolean;
  /** CONFIG_IP_SCTP: libnetwork's port allocator opens SCTP sockets for sctp ports. */
  sctp: boolean;
  /** CONFIG_MAGIC_SYSRQ: /proc/sysrq-trigger, which privileged containers may write. */
  magicSysrq: boolean;
  /** Where a link's IPv6 multicast route (ff00::/8) goes: moby's route-counting tests expect it in the main table, as older kernels put it. */
  ipv6MulticastRouteTable: 'main' | 'local' | 'none';
}

const PROBE = 'mmk-probe';

async function ip(...args: string[]): Promise<{ ok: boolean; stdout: string }> {
  const result = await run(['ip', ...args]);
  return { ok: result.exitCode === 0, stdout: result.stdout };
}

async function linkAddWorks(...type: string[]): Promise<boolean> {
  const { ok } = await ip('link', 'add', PROBE, 'type', ...type);
  if (ok) await ip('link', 'del', PROBE);
  return ok;
}

/** A link of `type` on top of a bridge (ipvlan and vlan links need a parent; a bridge is there on every kernel moby runs on). */
async function childLinkWorks(...type: string[]): Promise<boolean> {
  const parent = `${PROBE}-br`;
  if (!(await ip('link', 'add', parent, 'type', 'bridge')).ok) return false;
  try {
    const { ok } = await ip('link', 'add', 'link', parent, 'name', PROBE, 'type', ...type);
    if (ok) await ip('link', 'del', PROBE);
    return ok;
  } finally {
    await ip('link', 'del', parent);
  }
}

async function multicastRouteTable(): Promise<HostFacts['ipv6MulticastRouteTable']> {
  if (!(await ip('link', 'add', PROBE, 'type', 'veth', 'peer', 'name', `${PROBE}-peer`)).ok) return 'none';
  try {
    await ip('link', 'set', PROBE, 'up');
    await ip('link', 'set', `${PROBE}-peer`, 'up');
    const route = (await ip('-6', 'route', 'show', 'table', 'all', 'dev', PROBE)).stdout.split('\n').find((line) => line.includes('ff00::/8'));
    if (!route) return 'none';
    return route.includes('table local') ? 'local' : 'main';
  } finally {
    await ip('link', 'del', PROBE);
  }
}

const CAP_SYS_RESOURCE = 24;

/** The kernel's build configuration, where it publishes one (/proc/config.gz). */
function kernelConfig(): string | undefined {
  return existsSync('/proc/config.gz') ? gunzipSync(readFileSync('/proc/config.gz')).toString('latin1') : undefined;
}

/** Whether the config leaves the option out; a kernel without a published config is not assumed to lack it. */
function leftOut(config: string | undefined, option: string): boolean {
  return config?.includes(`# ${option} is not set`) ?? false;
}

function hasEffectiveCapability(bit: number): boolean {
  const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return effective !== undefined && ((BigInt(`0x${effective}`) >> BigInt(bit)) & 1n) === 1n;
}

/** What the probe found, kept beside a run's reports. */
export const HOST_FACTS_FILE = 'host-facts.json';

/** Must run in a network namespace of the runner's own: it adds and removes links. */
export async function probeHostFacts(): Promise<HostFacts> {
  const config = kernelConfig();
  return {
    bridgeVlanFiltering: await linkAddWorks('bridge', 'vlan_filtering', '0'),
    dummyLinks: await linkAddWorks('dummy'),
    ipvlanLinks: await childLinkWorks('ipvlan', 'mode', 'l2'),
    vlanLinks: await childLinkWorks('vlan', 'id', '10'),
    // Per network namespace, as the kernel shows it once the module is in; nothing here can load it (no modprobe, no module).
    ipvs: existsSync('/proc/net/ip_vs'),
    magicSysrq: existsSync('/proc/sysrq-trigger'),
    capSysResource: hasEffectiveCapability(CAP_SYS_RESOURCE),
    xfsV4: !leftOut(config, 'CONFIG_XFS_SUPPORT_V4'),
    sctp: !leftOut(config, 'CONFIG_IP_SCTP'),
    ipv6MulticastRouteTable: await multicastRouteTable(),
  };
}

/** Where this kernel differs from what moby's tests expect, as words for the summary. */
export function kernelDifferences(facts: HostFacts): string[] {
  const differences: string[] = [];
  if (!facts.bridgeVlanFiltering) differences.push('no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)');
  if (!facts.dummyLinks) differences.push('no dummy links (CONFIG_DUMMY)');
  if (!facts.ipvlanLinks) differences.push('no ipvlan links (CONFIG_IPVLAN)');
  if (!facts.vlanLinks) differences.push('no VLAN sub-interfaces (CONFIG_VLAN_8021Q)');
  if (!facts.ipvs) differences.push("no IPVS (CONFIG_IP_VS: swarm's service load balancing)");
  if (!facts.capSysResource) differences.push('root without CAP_SYS_RESOURCE (rlimits cannot rise past the inherited hard limit)');
  if (!facts.sctp) differences.push('no SCTP (CONFIG_IP_SCTP)');
  if (!facts.xfsV4) differences.push("no V4 XFS (CONFIG_XFS_SUPPORT_V4: the quota tests' images)");
  if (!facts.magicSysrq) differences.push('no magic SysRq (CONFIG_MAGIC_SYSRQ: /proc/sysrq-trigger)');
  if (facts.ipv6MulticastRouteTable === 'local') differences.push('IPv6 multicast routes in the local table, not main');
  return differences;
}
