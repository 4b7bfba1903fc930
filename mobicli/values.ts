import { isIPv4, isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { InvalidValue } from './args.js';

/**
 * Parsers for flag values, pure so they can be tested without a daemon. Each
 * throws InvalidValue with the reason and the form that would have worked; the
 * argument parser adds the flag's name.
 */

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Bytes from docker's memory sizes: 1024-based, unit letters case-insensitive (100m, 1g, 1.5G, 512MiB, 4096). */
export function parseSize(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)\s?([bkmgt]?)(?:i?b)?$/i.exec(raw.trim());
  if (!match) throw new InvalidValue('not a size; use a number with an optional unit b, k, m or g (e.g. 100m, 1g)');
  const bytes = Math.floor(Number(match[1]) * (UNITS[match[2]!.toLowerCase()] ?? 1));
  if (bytes <= 0) throw new InvalidValue('a size must be more than 0 bytes (e.g. 100m)');
  return bytes;
}

export function parseNonNegativeInteger(raw: string): number {
  if (!/^\d+$/.test(raw)) throw new InvalidValue('not a whole number; use digits only (e.g. 256)');
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new InvalidValue('too large');
  return value;
}

export interface Publish {
  /** Empty: every address, as docker does. */
  hostIp: string;
  /** Empty: the daemon picks a free port. */
  hostPort: string;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
}

const PUBLISH_FORM = 'use [IP:]HOST:CONTAINER[/tcp|udp] (e.g. 8080:80 or 127.0.0.1:8080:80)';

/** docker's -p: CONTAINER, HOST:CONTAINER, IP:HOST:CONTAINER or IP::CONTAINER, each optionally /PROTOCOL. */
export function parsePublish(raw: string): Publish {
  const [spec, protocol = 'tcp', ...extra] = raw.split('/');
  if (extra.length > 0 || (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp')) throw new InvalidValue(`unknown protocol; ${PUBLISH_FORM}`);
  const parts = splitHostIp(spec ?? '');
  const containerPort = parts.at(-1) ?? '';
  if (parts.length > 3 || containerPort === '') throw new InvalidValue(PUBLISH_FORM);
  const hostPort = parts.length >= 2 ? (parts.at(-2) ?? '') : '';
  const hostIp = parts.length === 3 ? (parts[0] ?? '') : '';
  if (hostIp !== '' && !isIP(hostIp)) throw new InvalidValue(`${hostIp} is not an IP address; ${PUBLISH_FORM}`);
  if (hostPort !== '') port(hostPort);
  return { hostIp, hostPort, containerPort: port(containerPort), protocol };
}

/** An IPv6 host address comes in brackets ([::1]:8080:80), so its colons do not split. */
function splitHostIp(spec: string): string[] {
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(spec);
  if (bracketed) return [bracketed[1]!, ...bracketed[2]!.split(':')];
  return spec.split(':');
}

function port(raw: string): number {
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= 1 && value <= 65535)) throw new InvalidValue(`port ${raw} is not in 1-65535; ${PUBLISH_FORM}`);
  return value;
}

export interface Volume {
  /** An absolute host path (a bind mount) or a volume name. */
  source: string;
  target: string;
  readOnly: boolean;
}

const VOLUME_FORM = 'use SRC:DST[:ro] with SRC a host path or a volume name and DST an absolute path (e.g. /srv/data:/data:ro)';

/** docker's -v: a relative host path (./x) is made absolute as the docker CLI does, from cwd. */
export function parseVolume(raw: string, cwd = process.cwd()): Volume {
  const parts = raw.split(':');
  if (parts.length < 2 || parts.length > 3) throw new InvalidValue(VOLUME_FORM);
  const [source = '', target = '', mode = 'rw'] = parts;
  if (mode !== 'ro' && mode !== 'rw') throw new InvalidValue(`mode ${mode} is neither ro nor rw; ${VOLUME_FORM}`);
  if (!isAbsolute(target)) throw new InvalidValue(`${target || 'an empty destination'} is not an absolute path in the container; ${VOLUME_FORM}`);
  const isPath = source.startsWith('/') || source.startsWith('.');
  if (!isPath && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(source))
    throw new InvalidValue(`${source || 'an empty source'} is neither a host path nor a volume name; ${VOLUME_FORM}`);
  return { source: isPath ? resolve(cwd, source) : source, target, readOnly: mode === 'ro' };
}

export interface EnvSetting {
  key: string;
  /** Undefined: take the value from mobicli's own environment, as `docker run -e KEY` does. */
  value?: string;
}

export function parseEnvSetting(raw: string): EnvSetting {
  const eq = raw.indexOf('=');
  const key = eq < 0 ? raw : raw.slice(0, eq);
  if (key === '' || /\s/.test(key)) throw new InvalidValue('use KEY=VALUE, or KEY to pass on its value from here');
  return eq < 0 ? { key } : { key, value: raw.slice(eq + 1) };
}

export interface Subnet {
  /** The network address with its prefix, e.g. 192.168.10.0/24. */
  subnet: string;
  /** When the user wrote a host address (192.168.10.1/24, as the seed does), that address becomes the gateway. */
  gateway?: string;
}

/** IPv4 CIDR; host bits set mean "this address as the gateway" rather than an error. */
export function parseSubnet(raw: string): Subnet {
  const [address = '', prefixText = '', ...extra] = raw.split('/');
  const prefix = /^\d+$/.test(prefixText) ? Number(prefixText) : NaN;
  if (extra.length > 0 || !isIPv4(address) || !(prefix >= 1 && prefix <= 30)) {
    throw new InvalidValue('use an IPv4 CIDR with a prefix of 1-30 bits (e.g. 192.168.10.0/24)');
  }
  const value = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const size = 2 ** (32 - prefix);
  const network = value - (value % size);
  const subnet = `${dotted(network)}/${prefix}`;
  return network === value ? { subnet } : { subnet, gateway: address };
}

function dotted(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export interface ImageReference {
  repo: string;
  tag?: string;
}

/** REPO[:TAG]: a colon after the last slash starts the tag (a registry's host:port does not). */
export function parseImageReference(raw: string): ImageReference {
  const slash = raw.lastIndexOf('/');
  const colon = raw.lastIndexOf(':');
  const [repo, tag] = colon > slash ? [raw.slice(0, colon), raw.slice(colon + 1)] : [raw, undefined];
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repo)) {
    throw new InvalidValue('a repository is lowercase letters, digits and . _ - separated by / (e.g. moby-make/mine:v1)');
  }
  if (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag)) throw new InvalidValue('a tag is up to 128 letters, digits, _ . or - (e.g. v1)');
  return tag === undefined ? { repo } : { repo, tag };
}
