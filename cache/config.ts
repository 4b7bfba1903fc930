import { existsSync, readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Env } from '../core/env.js';
import { UsageError, UserError } from '../core/errors.js';
import type { RegistryAddress } from './registry.js';

export const REGISTRY_VARIABLE = 'MOBY_MAKE_CACHE_REGISTRY';
const PUSH_VARIABLE = 'MOBY_MAKE_CACHE_PUSH';
const TIMEOUT_VARIABLE = 'MOBY_MAKE_CACHE_TIMEOUT';
const CA_VARIABLE = 'MOBY_MAKE_CACHE_CA';

/** Debian's (and most distributions') bundle of the system's trust store, which SSL_CERT_FILE may move. */
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
/** Long enough for a registry across the world, short enough that a dead one costs one pause, not a build. */
const DEFAULT_TIMEOUT_SECONDS = 10;

export interface CacheConfig {
  address: RegistryAddress;
  push: boolean;
  timeoutMs: number;
  /** The system's trust store, Node's own, and MOBY_MAKE_CACHE_CA's file when set. */
  ca: string[];
}

/** The cache registry from --cache-registry or MOBY_MAKE_CACHE_REGISTRY; undefined when neither is set (no shared cache). */
export function cacheConfig(env: Env, flag?: string): CacheConfig | undefined {
  const value = flag ?? env[REGISTRY_VARIABLE];
  if (!value) return undefined;
  const address = parseAddress(value, flag !== undefined ? '--cache-registry' : REGISTRY_VARIABLE);
  const timeout = env[TIMEOUT_VARIABLE] ? Number(env[TIMEOUT_VARIABLE]) : DEFAULT_TIMEOUT_SECONDS;
  if (!(timeout > 0)) throw new UsageError(`${TIMEOUT_VARIABLE}=${env[TIMEOUT_VARIABLE]} is not a number of seconds`);
  return { address, push: isSet(env[PUSH_VARIABLE]), timeoutMs: timeout * 1000, ca: trustAnchors(env) };
}

/** `host[:port]/repo[/more]`, with the repository as the distribution spec spells names. */
export function parseAddress(value: string, from: string): RegistryAddress {
  const slash = value.indexOf('/');
  const host = slash > 0 ? value.slice(0, slash) : '';
  const repository = slash > 0 ? value.slice(slash + 1) : '';
  const hostOk = /^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+)(:\d{1,5})?$/.test(host);
  const repoOk = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository);
  if (!hostOk || !repoOk) {
    throw new UsageError(`${from}=${value} is not host[:port]/repository`, 'For example: registry.example:5000/moby-make (lower-case repository, no scheme).');
  }
  return { host, repository };
}

function trustAnchors(env: Env): string[] {
  const anchors = [...rootCertificates];
  const system = env.SSL_CERT_FILE ?? SYSTEM_CA_BUNDLE;
  if (existsSync(system)) anchors.push(readFileSync(system, 'utf8'));
  const extra = env[CA_VARIABLE];
  if (extra) {
    if (!existsSync(extra)) throw new UserError(`${CA_VARIABLE}=${extra}: no such file`, 'Point it at the PEM file of the CA that signed the cache registry.');
    anchors.push(readFileSync(extra, 'utf8'));
  }
  return anchors;
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}
