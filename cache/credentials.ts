import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import { jsonOrUndefined } from '../core/json-file.js';
import { lastLine, run } from '../core/process.js';
import type { CacheConfig } from './config.js';
import { RegistryClient, type ClientEvents } from './registry.js';

/**
 * Who we are to the cache registry, found the way OCI tools find it: the
 * variables first, then the docker CLI's config.json (a credential helper
 * for the host, the credential store, or an inline `auth`).
 */
export interface Credentials {
  username: string;
  password: string;
  /** Where they came from, for messages: a variable name, config.json, a helper. */
  from: string;
}

const USER_VARIABLE = 'MOBY_MAKE_CACHE_USER';
const PASSWORD_VARIABLE = 'MOBY_MAKE_CACHE_PASSWORD';

const dockerConfigSchema = z.object({
  auths: z.record(z.string(), z.object({ auth: z.string().optional(), username: z.string().optional(), password: z.string().optional() })).optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  credsStore: z.string().optional(),
});

const helperAnswerSchema = z.object({ Username: z.string(), Secret: z.string() });

/** A client for the configured registry with the credentials found for its host. */
export async function registryClient(config: CacheConfig, env: Env, events: ClientEvents = {}): Promise<RegistryClient> {
  const credentials = await findCredentials(config.address.host, env);
  return new RegistryClient(config.address, { ca: config.ca, timeoutMs: config.timeoutMs, ...(credentials ? { credentials } : {}) }, events);
}

export async function findCredentials(host: string, env: Env): Promise<Credentials | undefined> {
  const username = env[USER_VARIABLE];
  const password = env[PASSWORD_VARIABLE];
  if (username || password) {
    if (!username || !password)
      throw new UserError(`${username ? PASSWORD_VARIABLE : USER_VARIABLE} is not set`, `Set both ${USER_VARIABLE} and ${PASSWORD_VARIABLE}, or neither.`);
    return { username, password, from: `${USER_VARIABLE}/${PASSWORD_VARIABLE}` };
  }
  const file = join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json');
  if (!existsSync(file)) return undefined;
  const parsed = dockerConfigSchema.safeParse(jsonOrUndefined(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new UserError(`${file} is not a docker CLI config`, 'Fix it, or set MOBY_MAKE_CACHE_USER and MOBY_MAKE_CACHE_PASSWORD instead.');
  const config = parsed.data;
  const helper = config.credHelpers?.[host] ?? config.credsStore;
  if (helper) {
    const fromHelper = await askHelper(helper, host, env);
    if (fromHelper) return fromHelper;
  }
  const entry = config.auths?.[host] ?? config.auths?.[`https://${host}`];
  if (!entry) return undefined;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), from: file };
  }
  if (entry.username && entry.password) return { username: entry.username, password: entry.password, from: file };
  return undefined;
}

/** `docker-credential-<helper> get` with the host on stdin, as the docker CLI calls it; "not found" is no credentials. */
async function askHelper(helper: string, host: string, env: Env): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  const result = await run([program, 'get'], { input: host, env });
  if (result.exitCode !== 0) {
    if (/credentials not found/i.test(result.stdout + result.stderr)) return undefined;
    throw new UserError(
      `${program} get ${host} failed: ${lastLine(result.stderr || result.stdout)}`,
      "It is the credential helper the docker CLI's config.json names for this host; fix it, or set MOBY_MAKE_CACHE_USER and MOBY_MAKE_CACHE_PASSWORD.",
    );
  }
  const answer = helperAnswerSchema.safeParse(jsonOrUndefined(result.stdout));
  if (!answer.success) throw new UserError(`${program} get ${host} printed something that is not a credential`);
  return { username: answer.data.Username, password: answer.data.Secret, from: program };
}

/** A registry that refused who we are: the user's to fix, so an error that names the registry and where credentials come from. */
export function credentialsRefused(message: string, host: string): UserError {
  return new UserError(
    `cache registry ${message}`,
    `Set ${USER_VARIABLE} and ${PASSWORD_VARIABLE} (or docker login ${host}) to credentials it accepts, or unset MOBY_MAKE_CACHE_REGISTRY.`,
  );
}
