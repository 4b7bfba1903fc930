import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { discard, header, readBody, send, TransportError, type HttpRequest, type HttpResponse } from './http.js';
import type { Credentials } from './credentials.js';
import { jsonOrUndefined } from '../core/json-file.js';

/**
 * The distribution spec's few calls, all of them here: the version check,
 * manifests by tag or digest, blobs (streamed, digest-checked), monolithic
 * uploads, tag lists, deletes; and the two auth schemes registries answer a
 * 401 with (Basic, and Bearer tokens from the realm the challenge names).
 */
export interface RegistryAddress {
  /** host[:port] */
  host: string;
  /** The repository path, e.g. team/moby-make. */
  repository: string;
}

export interface RegistryOptions {
  credentials?: Credentials;
  ca: readonly string[];
  timeoutMs: number;
}

/** One blob's GET, spelled out for another thread (see RegistryClient.blobRequest). */
export interface BlobRequest {
  url: string;
  headers: Record<string, string>;
  /** Trust anchors (PEM) for https. */
  ca: readonly string[];
  timeoutMs: number;
}

/** The registry answered, but refused who we are (or who we are not). */
export class RegistryAuthError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'RegistryAuthError';
  }
}

/** The registry answered something a registry does not: an unexpected status, a manifest that is not JSON. */
export class RegistryProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryProtocolError';
  }
}

/** Bytes whose digest is not the one they were asked for by. */
export class DigestMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`expected ${expected}, got ${actual}`);
    this.name = 'DigestMismatchError';
  }
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MAX_REDIRECTS = 5;
const WRITE_BATCH_BYTES = 4 << 20;

/**
 * A registry that says "too many requests" or "not now" (a team's registry
 * under a CI burst, a hosted one's rate limit) is asked again after the wait
 * it names, or after 0.25, 0.5 and 1 s; a wait longer than MAX_WAIT_MS is
 * not waited for: the call fails as the registry being unavailable, and the
 * run builds locally, which takes less than a long wait on every call.
 */
const RETRIED_STATUSES = new Set([429, 502, 503, 504]);
const MAX_RETRIES = 3;
const MAX_WAIT_MS = 5_000;
const FIRST_BACKOFF_MS = 250;

/** How long to wait before retry number `retry` (from 0), from a Retry-After header (seconds or an HTTP date); undefined: do not retry. */
export function retryDelayMs(retryAfter: string | undefined, retry: number, now = Date.now()): number | undefined {
  const backoff = FIRST_BACKOFF_MS * 2 ** retry;
  const value = retryAfter?.trim();
  if (!value) return backoff;
  const named = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (Number.isNaN(named)) return backoff;
  const wait = Math.max(0, named);
  return wait <= MAX_WAIT_MS ? wait : undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What the client tells its owner, each at most once. */
export interface ClientEvents {
  /** A loopback registry turned out to speak plain HTTP. */
  plainHttp?: () => void;
  /** The registry asked to slow down (429, 503, …) and the client waits and asks again. */
  throttled?: (status: number) => void;
}

export interface FetchedManifest {
  digest: string;
  body: Buffer;
}

export class RegistryClient {
  /** https, or http for a loopback registry that does not speak TLS (found by the first call). */
  private scheme: 'https:' | 'http:' = 'https:';
  private authorization: string | undefined;
  private probed: Promise<void> | undefined;
  private throttleSaid = false;

  constructor(
    readonly address: RegistryAddress,
    private readonly options: RegistryOptions,
    private readonly events: ClientEvents = {},
  ) {}

  get name(): string {
    return `${this.address.host}/${this.address.repository}`;
  }

  /** GET /v2/ with the credentials: proves the registry is there and takes us, before anything depends on it. */
  async ping(): Promise<void> {
    this.probed ??= this.probe();
    return this.probed;
  }

  private async probe(): Promise<void> {
    try {
      await this.checkedVersion();
    } catch (error) {
      if (!(error instanceof TransportError) || !isLoopback(this.address.host) || !looksLikePlainHttp(error)) throw error;
      this.scheme = 'http:';
      this.events.plainHttp?.();
      await this.checkedVersion();
    }
  }

  private async checkedVersion(): Promise<void> {
    const response = await this.call({ method: 'GET', path: '/v2/' });
    discard(response);
    if (response.status !== 200) throw new RegistryProtocolError(`GET /v2/ answered ${response.status}`);
  }

  async manifest(reference: string): Promise<FetchedManifest | undefined> {
    const response = await this.call({ method: 'GET', path: this.repoPath(`manifests/${reference}`), headers: { accept: OCI_MANIFEST } });
    if (response.status === 404) return dropAnd(response, undefined);
    if (response.status !== 200) throw dropAnd(response, this.unexpected('GET manifest', response));
    const body = await readBody(response);
    const digest = digestOf(body);
    const claimed = header(response, 'docker-content-digest');
    if (reference.startsWith('sha256:') && digest !== reference) throw new DigestMismatchError(reference, digest);
    if (claimed && claimed !== digest) throw new DigestMismatchError(claimed, digest);
    return { digest, body };
  }

  async hasManifest(reference: string): Promise<boolean> {
    const response = await this.call({ method: 'HEAD', path: this.repoPath(`manifests/${reference}`), headers: { accept: OCI_MANIFEST } });
    discard(response);
    if (response.status === 404) return false;
    if (response.status === 200) return true;
    throw this.unexpected('HEAD manifest', response);
  }

  async putManifest(reference: string, body: Buffer): Promise<string> {
    const response = await this.call({ method: 'PUT', path: this.repoPath(`manifests/${reference}`), headers: { 'content-type': OCI_MANIFEST }, body });
    discard(response);
    if (response.status !== 201) throw this.unexpected('PUT manifest', response);
    return digestOf(body);
  }

  async deleteManifest(digest: string): Promise<void> {
    const response = await this.call({ method: 'DELETE', path: this.repoPath(`manifests/${digest}`) });
    discard(response);
    if (response.status !== 202 && response.status !== 404) throw this.unexpected('DELETE manifest', response);
  }

  async tags(): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = this.repoPath('tags/list?n=1000');
    while (path) {
      const response = await this.call({ method: 'GET', path });
      if (response.status === 404) return dropAnd(response, tags);
      if (response.status !== 200) throw dropAnd(response, this.unexpected('GET tags', response));
      const json = parseJson(await readBody(response), 'tag list') as { tags?: unknown };
      if (Array.isArray(json.tags)) tags.push(...json.tags.filter((tag): tag is string => typeof tag === 'string'));
      path = nextLink(header(response, 'link'));
    }
    return tags;
  }

  async hasBlob(digest: string): Promise<boolean> {
    const response = await this.call({ method: 'HEAD', path: this.repoPath(`blobs/${digest}`) });
    discard(response);
    if (response.status === 404) return false;
    if (response.status === 200) return true;
    throw this.unexpected('HEAD blob', response);
  }

  /** A small blob (a config) in memory, checked against its digest. */
  async blob(digest: string, limit = 4 << 20): Promise<Buffer> {
    const response = await this.blobResponse(digest);
    const body = await readBody(response, limit);
    const actual = digestOf(body);
    if (actual !== digest) throw new DigestMismatchError(digest, actual);
    return body;
  }

  /**
   * A blob's bytes in memory without the digest check, for a caller that
   * checks every part it uses against that part's own digest (a pack of go
   * objects, each content-addressed). Checking the whole as well would hash
   * every byte twice, and a part that passes its own check is right whatever
   * the rest holds.
   */
  async blobCheckedByParts(digest: string, limit: number): Promise<Buffer> {
    return readBody(await this.blobResponse(digest), limit);
  }

  /**
   * The GET of a blob as this client sends it now (its credentials, its
   * trust anchors, its idle limit), for a thread that downloads it itself.
   * An answer other than 200 (a redirect to storage, an expired token) is
   * for the client's own blob methods, which follow and renew.
   */
  blobRequest(digest: string): BlobRequest {
    return {
      url: new URL(this.repoPath(`blobs/${digest}`), this.baseUrl()).href,
      headers: { 'user-agent': 'moby-make', ...(this.authorization ? { authorization: this.authorization } : {}) },
      ca: this.options.ca,
      timeoutMs: this.options.timeoutMs,
    };
  }

  /**
   * A blob streamed into `file`, hashed as it arrives; a wrong size or digest
   * removes the file and throws, so nothing unverified is left to publish.
   * The file takes what arrived while its last write was out in one write:
   * with a file stream's 16 KB mark, each TLS record became a write of its
   * own and the socket waited on each (a fresh machine's 322 MB bundle took
   * 1.0 s instead of 0.6 s).
   */
  async blobToFile(digest: string, size: number, file: string): Promise<void> {
    const response = await this.blobResponse(digest);
    const hash = createHash('sha256');
    let received = 0;
    // Attached in the same tick as the pipeline's pipe, before the answer flows: both see every chunk.
    response.body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      hash.update(chunk);
      if (received > size) response.body.destroy(new DigestMismatchError(digest, `more than ${size} bytes`));
    });
    try {
      await pipeline(response.body, createWriteStream(file, { mode: 0o600, highWaterMark: WRITE_BATCH_BYTES }));
    } catch (error) {
      await rm(file, { force: true });
      if (error instanceof DigestMismatchError || error instanceof TransportError) throw error;
      throw new TransportError(`GET blob ${digest}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const actual = `sha256:${hash.digest('hex')}`;
    if (received !== size || actual !== digest) {
      await rm(file, { force: true });
      throw new DigestMismatchError(digest, received !== size ? `${received} of ${size} bytes` : actual);
    }
  }

  /** Uploads a blob in one PUT (POST for the session, PUT with ?digest=), unless the registry has it already. */
  async pushBlob(digest: string, size: number, body: Buffer | (() => Readable)): Promise<'uploaded' | 'present'> {
    if (await this.hasBlob(digest)) return 'present';
    const started = await this.call({ method: 'POST', path: this.repoPath('blobs/uploads/') });
    discard(started);
    const location = header(started, 'location');
    if (started.status !== 202 || !location) throw this.unexpected('POST blob upload', started);
    const target = new URL(location, this.baseUrl());
    target.searchParams.set('digest', digest);
    const response = await this.call({
      method: 'PUT',
      url: target,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body,
    });
    discard(response);
    if (response.status !== 201) throw this.unexpected('PUT blob', response);
    return 'uploaded';
  }

  private async blobResponse(digest: string): Promise<HttpResponse> {
    const response = await this.call({ method: 'GET', path: this.repoPath(`blobs/${digest}`), followRedirects: true });
    if (response.status !== 200) throw dropAnd(response, this.unexpected(`GET blob ${digest}`, response));
    return response;
  }

  private repoPath(rest: string): string {
    return `/v2/${this.address.repository}/${rest}`;
  }

  private baseUrl(): URL {
    return new URL(`${this.scheme}//${this.address.host}/`);
  }

  private unexpected(what: string, response: HttpResponse): Error {
    if (response.status >= 500 || response.status === 429) return new TransportError(`${what} answered ${response.status}`);
    return new RegistryProtocolError(`${what} answered ${response.status}`);
  }

  /**
   * One call, authenticated as the registry asks: a 401 is answered once by
   * the challenge's scheme (Basic, or a Bearer token for this repository's
   * pull and push scope), and a second 401 or a 403 is the credentials' fault.
   */
  private async call(request: {
    method: HttpRequest['method'];
    path?: string;
    url?: URL;
    headers?: Record<string, string>;
    body?: HttpRequest['body'];
    followRedirects?: boolean;
  }): Promise<HttpResponse> {
    const url = request.url ?? new URL(request.path ?? '/', this.baseUrl());
    const attempt = () => this.exchange({ ...request, url }, this.authorization);
    for (let retry = 0; ; retry++) {
      let response = await attempt();
      if (response.status === 401) {
        const challenge = header(response, 'www-authenticate');
        discard(response);
        this.authorization = await this.answer(challenge);
        response = await attempt();
      }
      if (response.status === 401 || response.status === 403) {
        discard(response);
        throw new RegistryAuthError(this.refusal(response.status), response.status);
      }
      const waitMs = retry < MAX_RETRIES && RETRIED_STATUSES.has(response.status) ? retryDelayMs(header(response, 'retry-after'), retry) : undefined;
      if (waitMs === undefined) return response;
      discard(response);
      if (!this.throttleSaid) this.events.throttled?.(response.status);
      this.throttleSaid = true;
      await sleep(waitMs);
    }
  }

  private async exchange(
    request: { method: HttpRequest['method']; url: URL; headers?: Record<string, string>; body?: HttpRequest['body']; followRedirects?: boolean },
    authorization: string | undefined,
  ): Promise<HttpResponse> {
    let url = request.url;
    for (let hop = 0; ; hop++) {
      // Storage redirects (S3, a CDN) carry their own signature; the registry's credentials stay with the registry.
      const sameHost = url.host === this.address.host;
      const response = await send({
        method: request.method,
        url,
        headers: { ...request.headers, ...(authorization && sameHost ? { authorization } : {}) },
        ...(request.body !== undefined ? { body: request.body } : {}),
        ca: this.options.ca,
        timeoutMs: this.options.timeoutMs,
      });
      const location = header(response, 'location');
      if (!request.followRedirects || ![301, 302, 303, 307, 308].includes(response.status) || !location || hop >= MAX_REDIRECTS) return response;
      discard(response);
      url = new URL(location, url);
    }
  }

  private async answer(challenge: string | undefined): Promise<string> {
    const parsed = challenge ? parseChallenge(challenge) : undefined;
    const credentials = this.options.credentials;
    if (parsed?.scheme === 'bearer') return `Bearer ${await this.token(parsed.params)}`;
    if (!credentials) throw new RegistryAuthError(this.refusal(401), 401);
    return basic(credentials);
  }

  private async token(params: Record<string, string>): Promise<string> {
    const realm = params.realm;
    if (!realm) throw new RegistryProtocolError('the registry asked for a bearer token without naming its realm');
    const url = new URL(realm);
    if (params.service) url.searchParams.set('service', params.service);
    // Pull and push always, so one token serves a run; and what the challenge names besides (a DELETE's `delete`, for prune).
    const always = `repository:${this.address.repository}:pull,push`;
    for (const scope of new Set([always, ...(params.scope ?? '').split(' ').filter(Boolean)])) url.searchParams.append('scope', scope);
    const credentials = this.options.credentials;
    const response = await send({
      method: 'GET',
      url,
      headers: credentials ? { authorization: basic(credentials) } : {},
      ca: this.options.ca,
      timeoutMs: this.options.timeoutMs,
    });
    if (response.status === 401 || response.status === 403) {
      discard(response);
      throw new RegistryAuthError(this.refusal(response.status), response.status);
    }
    if (response.status !== 200) throw dropAnd(response, this.unexpected('GET token', response));
    const json = parseJson(await readBody(response), 'token answer') as { token?: unknown; access_token?: unknown };
    const token = typeof json.token === 'string' ? json.token : typeof json.access_token === 'string' ? json.access_token : undefined;
    if (!token) throw new RegistryProtocolError('the token answer holds no token');
    return token;
  }

  private refusal(status: number): string {
    const who = this.options.credentials
      ? `the credentials of ${this.options.credentials.username} (from ${this.options.credentials.from})`
      : 'anonymous access';
    return `${this.name} refused ${who} (${status})`;
  }
}

function basic(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** `Bearer realm="https://auth/token",service="registry",scope="repository:x:pull"` → scheme and parameters. */
export function parseChallenge(challenge: string): { scheme: string; params: Record<string, string> } {
  const match = /^\s*(\S+)\s*(.*)$/.exec(challenge);
  const scheme = (match?.[1] ?? '').toLowerCase();
  const params: Record<string, string> = {};
  for (const pair of (match?.[2] ?? '').matchAll(/([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    const key = pair[1];
    if (key) params[key.toLowerCase()] = (pair[2] ?? pair[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}

function nextLink(link: string | undefined): string | undefined {
  const match = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
  return match?.[1];
}

function parseJson(body: Buffer, what: string): object {
  const value = jsonOrUndefined(body);
  if (typeof value === 'object' && value !== null) return value;
  throw new RegistryProtocolError(`the ${what} is not a JSON object`);
}

export function digestOf(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/** Frees the socket of an answer that is not read, and gives back what the caller returns or throws next. */
function dropAnd<T>(response: HttpResponse, value: T): T {
  discard(response);
  return value;
}

export function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127(\.\d{1,3}){3}$/.test(name);
}

/** What an https request sees when the server answers in plain HTTP. */
function looksLikePlainHttp(error: TransportError): boolean {
  return error.code === 'EPROTO' || error.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test(error.message);
}
