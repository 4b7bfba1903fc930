import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from '../../core/free-port.js';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { installGoTool } from '../../core/go-tools.js';
import { defaultCacheDir } from '../paths.js';
import { TEST_REGISTRY } from '../../testrunner/toolchain.js';
import { startTokenServer, type TokenServer } from './loopback-token-server.js';

/**
 * A real registry on loopback for the shared-cache tests and the bench: distribution's
 * `registry` (the runner's pin, built from the module proxy), htpasswd auth
 * (Basic) or token auth (Bearer, with a token service of the test's), a
 * self-signed certificate for 127.0.0.1 that the tests trust explicitly
 * through MOBY_MAKE_CACHE_CA, storage in a temporary folder.
 */
export interface TestRegistry {
  host: string;
  /** The certificate to trust (MOBY_MAKE_CACHE_CA). */
  caFile: string;
  storage: string;
  user: string;
  password: string;
  /** The variables a "machine" sets to use it. */
  env: (extra?: Record<string, string>) => Record<string, string>;
  stop: () => Promise<void>;
  /** SIGKILL, as a registry that dies mid-transfer. */
  kill: () => Promise<void>;
  start: () => Promise<void>;
  /** With token auth: its token service. */
  tokens?: TokenServer;
}

export const CACHE_REPOSITORY = 'team/moby-make';

export async function startRegistry(dir: string, options: { auth: 'htpasswd' | 'token' } = { auth: 'htpasswd' }): Promise<TestRegistry> {
  const binary = await installGoTool(TEST_REGISTRY, join(defaultCacheDir(process.env), 'tools'), process.env);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const caFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', caFile,
  ], { stdio: 'ignore' }); // prettier-ignore
  const user = 'ci';
  const password = 'correct horse battery staple';
  const tokens = options.auth === 'token' ? await startTokenServer({ tls: { cert: caFile, key: keyFile }, user, password }) : undefined;
  const auth = tokens
    ? ['  token:', `    realm: ${tokens.realm}`, `    service: ${tokens.service}`, `    issuer: ${tokens.issuer}`, `    rootcertbundle: ${tokens.signingCert}`]
    : ['  htpasswd:', '    realm: moby-make-tests', `    path: ${join(dir, 'htpasswd')}`];
  if (!tokens) writeFileSync(join(dir, 'htpasswd'), `${user}:${bcrypt.hashSync(password, 5)}\n`);
  const storage = join(dir, 'data');
  const config = join(dir, 'config.yml');
  const logFile = join(dir, 'registry.log');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storage}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      '  tls:',
      `    certificate: ${caFile}`,
      `    key: ${keyFile}`,
      'auth:',
      ...auth,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    // Its log goes to a file, not a pipe: a caller blocked in spawnSync (the bench) reads no pipe, and a registry whose stderr pipe is full stops answering.
    const log = openSync(logFile, 'a');
    child = spawn(binary, ['serve', config], { stdio: ['ignore', 'ignore', log], env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' } });
    closeSync(log);
    await waitForPort(port, () => (child?.exitCode !== null ? `registry exited: ${readFileSync(logFile, 'utf8').slice(-4000)}` : undefined));
  };
  const end = async (signal: NodeJS.Signals) => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill(signal);
    });
  };
  await start();
  return {
    host,
    caFile,
    storage,
    user,
    password,
    env: (extra = {}) => ({
      MOBY_MAKE_CACHE_REGISTRY: `${host}/${CACHE_REPOSITORY}`,
      MOBY_MAKE_CACHE_CA: caFile,
      MOBY_MAKE_CACHE_USER: user,
      MOBY_MAKE_CACHE_PASSWORD: password,
      ...extra,
    }),
    stop: async () => {
      await end('SIGTERM');
      await tokens?.stop();
    },
    kill: () => end('SIGKILL'),
    start,
    ...(tokens ? { tokens } : {}),
  };
}

async function waitForPort(port: number, failed: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`the registry did not listen on ${port} in 20s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
