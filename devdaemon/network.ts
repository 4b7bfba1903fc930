import { existsSync, readFileSync } from 'node:fs';
import { UserError } from '../core/errors.js';
import { sha256Text } from '../core/hashing.js';
import { run } from '../core/process.js';
import type { Env } from '../core/env.js';

/**
 * The dev daemon's default bridge is its own: a name derived from the state
 * folder (so two dev daemons and a system docker0 never share one) and a /16
 * no route on the machine uses yet, split into the bridge's /24 and a pool for
 * user-defined networks. dockerd insists that a bridge with a non-default name
 * exists before it starts, so we create it and remove it after.
 */
export interface BridgePlan {
  name: string;
  /** The bridge's address with its prefix, e.g. 10.213.0.1/24. */
  address: string;
  subnet: string;
  /** --default-address-pool for user-defined networks. */
  pool: string;
}

const FIRST_OCTET = 10;
const SECOND_OCTETS = Array.from({ length: 40 }, (_, i) => 210 + i);

export function bridgeName(stateDir: string): string {
  return `mmk-${sha256Text(stateDir).slice(0, 8)}`; // IFNAMSIZ allows 15 characters
}

/** Picks the first /16 (starting at one derived from the state folder) that overlaps no route. */
export function planBridge(stateDir: string, routes: readonly Route[] = readRoutes()): BridgePlan {
  const start = Number.parseInt(sha256Text(stateDir).slice(8, 12), 16) % SECOND_OCTETS.length;
  for (let i = 0; i < SECOND_OCTETS.length; i += 1) {
    const second = SECOND_OCTETS[(start + i) % SECOND_OCTETS.length] as number;
    const base = ((FIRST_OCTET << 24) | (second << 16)) >>> 0;
    if (routes.some((route) => overlaps(route, { network: base, mask: 0xffff0000 }))) continue;
    const prefix = `${FIRST_OCTET}.${second}`;
    return {
      name: bridgeName(stateDir),
      address: `${prefix}.0.1/24`,
      subnet: `${prefix}.0.0/24`,
      pool: `base=${prefix}.128.0/17,size=24`,
    };
  }
  throw new UserError(`every candidate subnet ${FIRST_OCTET}.${SECOND_OCTETS[0]}-${SECOND_OCTETS.at(-1)}.0.0/16 is already routed on this machine`);
}

export interface Route {
  network: number;
  mask: number;
}

/** IPv4 routes from /proc/net/route (hex, little-endian), read without spawning `ip`. */
export function readRoutes(text = readFileSync('/proc/net/route', 'utf8')): Route[] {
  const toNumber = (hex: string) => Buffer.from(hex, 'hex').readUInt32LE(0) >>> 0;
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 8 && fields[1] !== '00000000') // the default route overlaps everything
    .map((fields) => ({ network: toNumber(fields[1] as string), mask: toNumber(fields[7] as string) }));
}

export function overlaps(a: Route, b: Route): boolean {
  const mask = (a.mask & b.mask) >>> 0;
  return (a.network & mask) >>> 0 === (b.network & mask) >>> 0;
}

export function bridgeExists(plan: BridgePlan): boolean {
  return existsSync(`/sys/class/net/${plan.name}`);
}

export async function createBridge(plan: BridgePlan, env: Env): Promise<void> {
  if (bridgeExists(plan)) await removeBridge(plan.name, env, plan.subnet); // left by a run that was killed
  const batch = [`link add name ${plan.name} type bridge`, `addr add ${plan.address} dev ${plan.name}`, `link set ${plan.name} up`].join('\n');
  const result = await run(['ip', '-batch', '-'], { env, input: `${batch}\n` });
  if (result.exitCode !== 0) {
    await removeBridge(plan.name, env);
    throw new UserError(`could not create the dev daemon's bridge ${plan.name}: ${result.stderr.trim()}`);
  }
}

/**
 * Deletes the bridge and the iptables rules dockerd wrote for it (dockerd
 * leaves them behind on exit). Chains shared with a system Docker stay.
 */
export async function removeBridge(name: string, env: Env, subnet?: string): Promise<void> {
  await run(['ip', 'link', 'delete', name, 'type', 'bridge'], { env });
  for (const table of ['filter', 'nat']) {
    const rules = await run(['iptables', '-w', '-t', table, '-S'], { env });
    if (rules.exitCode !== 0) continue;
    for (const rule of rules.stdout.split('\n')) {
      if (!rule.startsWith('-A ') || !mentions(rule, name, subnet)) continue;
      await run(['iptables', '-w', '-t', table, '-D', ...splitRule(rule.slice(3))], { env });
    }
  }
}

function mentions(rule: string, name: string, subnet: string | undefined): boolean {
  const words = rule.split(/\s+/);
  return words.includes(name) || (subnet !== undefined && words.includes(subnet));
}

/** `iptables -S` quotes arguments with spaces (comments); undo that for argv. */
function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] as string)));
}
