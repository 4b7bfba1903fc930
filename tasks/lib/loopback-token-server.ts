import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * The token service of distribution's token auth ("Docker Registry v2 Bearer
 * token specification"), on loopback for the shared-cache tests: it checks
 * Basic credentials and answers a JWT for the scopes asked, signed with ES256
 * by the loopback TLS key and carrying its certificate in `x5c`, which the
 * registry verifies against its `rootcertbundle` (that same certificate).
 * The registry never calls it; the client does, when the registry's 401
 * names it as the realm.
 */
export interface TokenServer {
  realm: string;
  issuer: string;
  service: string;
  /** The certificate the registry trusts for tokens (its rootcertbundle). */
  signingCert: string;
  /** The scopes of every token issued, in order: what the client asked for. */
  issued: string[][];
  stop: () => Promise<void>;
}

interface Grant {
  type: string;
  name: string;
  actions: string[];
}

export async function startTokenServer(options: { tls: { cert: string; key: string }; user: string; password: string }): Promise<TokenServer> {
  const signingCert = options.tls.cert;
  const signingKey = createPrivateKey(readFileSync(options.tls.key));
  const x5c = [new X509Certificate(readFileSync(signingCert)).raw.toString('base64')];
  const issuer = 'moby-make-test-issuer';
  const service = 'moby-make-test-registry';
  const issued: string[][] = [];
  const expected = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;

  const server: Server = createServer({ cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) }, (request, response) => {
    const url = new URL(request.url ?? '/', 'https://token');
    if (url.pathname !== '/token' || url.searchParams.get('service') !== service) {
      response.writeHead(404).end();
      return;
    }
    if (request.headers.authorization !== expected) {
      response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'wrong user or password' }));
      return;
    }
    const scopes = url.searchParams.getAll('scope').flatMap((scope) => scope.split(' ').filter(Boolean));
    issued.push(scopes);
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer,
      sub: options.user,
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access: scopes.map(grantOf).filter((grant): grant is Grant => grant !== undefined),
    };
    const token = jwt({ alg: 'ES256', typ: 'JWT', x5c }, claims, signingKey);
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date(now * 1000).toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `https://127.0.0.1:${port}/token`,
    issuer,
    service,
    signingCert,
    issued,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `repository:team/x:pull,push` → the grant the token carries (all that is asked: the test user may do everything). */
function grantOf(scope: string): Grant | undefined {
  const [type, ...rest] = scope.split(':');
  const actions = rest.pop();
  if (!type || !actions || rest.length === 0) return undefined;
  return { type, name: rest.join(':'), actions: actions.split(',') };
}

function jwt(header: object, claims: object, key: ReturnType<typeof createPrivateKey>): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${encode(header)}.${encode(claims)}`;
  // JWS's ES256 is the raw r||s pair, not DER.
  const signature = sign('sha256', Buffer.from(signed), { key, dsaEncoding: 'ieee-p1363' });
  return `${signed}.${signature.toString('base64url')}`;
}
