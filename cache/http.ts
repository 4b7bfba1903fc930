import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Readable } from 'node:stream';

/**
 * One HTTP exchange with a registry, on node:http(s) rather than fetch: the
 * CA list, the idle timeout and a streamed body must all be ours to set, and
 * a blob is read as a stream so that a 100 MB binary is never held in memory.
 */
export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | (() => Readable);
  /** Trust anchors for https (PEM); the socket is refused when the server's chain does not end in one. */
  ca: readonly string[];
  /** Idle time before the exchange fails: no bytes either way for this long. */
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** The network or the peer failed (refused, reset, timed out, not HTTP): the registry is unavailable, not wrong. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

/**
 * One agent per set of trust anchors, with its TLS context made once: node
 * otherwise parses the whole CA list again for every connection (a third of
 * a second of a fresh machine's make), and kept-alive sockets spare the
 * handshakes between a run's many small calls.
 */
const agents = new WeakMap<readonly string[], { agent: HttpsAgent; secureContext: SecureContext }>();

/** Keyed by the list itself (a client keeps one for its life): joining a system bundle per request costs more than the request. */
function agentFor(ca: readonly string[]): { agent: HttpsAgent; secureContext: SecureContext } {
  let entry = agents.get(ca);
  if (!entry) {
    entry = { agent: new HttpsAgent({ keepAlive: true }), secureContext: createSecureContext({ ca: [...ca] }) };
    agents.set(ca, entry);
  }
  return entry;
}

export function send(exchange: HttpRequest): Promise<HttpResponse> {
  const { url } = exchange;
  const secure = url.protocol === 'https:';
  const make = secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = make(url, {
      method: exchange.method,
      headers: { 'user-agent': 'moby-make', ...exchange.headers },
      ...(secure ? agentFor(exchange.ca) : {}),
    });
    const fail = (error: Error & { code?: string }) =>
      reject(new TransportError(`${exchange.method} ${url.host}${url.pathname}: ${error.message}`, error.code));
    req.setTimeout(exchange.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer in ${exchange.timeoutMs / 1000}s`), { code: 'ETIMEDOUT' })));
    req.on('error', fail);
    req.on('response', (res) => {
      // The same idle limit while the body streams: a registry that stops mid-blob fails the read instead of hanging it.
      res.setTimeout(exchange.timeoutMs, () =>
        res.destroy(new TransportError(`${url.host}: the answer stopped for ${exchange.timeoutMs / 1000}s`, 'ETIMEDOUT')),
      );
      res.on('aborted', () => res.destroy(new TransportError(`${url.host}: the connection closed mid-answer`, 'ECONNRESET')));
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    const { body } = exchange;
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      const stream = body();
      stream.on('error', (error) => req.destroy(error));
      stream.pipe(req);
    }
  });
}

/** The body as a buffer, at most `limit` bytes (manifests and tokens are small; a larger answer is not one). */
export async function readBody(response: HttpResponse, limit = 4 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new TransportError(`the answer is larger than ${limit} bytes`);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof TransportError) throw error;
    throw new TransportError(error instanceof Error ? error.message : String(error));
  }
  return Buffer.concat(chunks);
}

/** Drains and drops a body, so the socket is free. */
export function discard(response: HttpResponse): void {
  response.body.resume();
  response.body.on('error', () => undefined);
}

export function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
