import { isIP } from 'node:net';
import { UserError } from './errors.js';

/**
 * `--debug-port` / DELVE_PORT: `HOST:PORT` or a bare port (moby's form,
 * which it serves on every interface; here it means 127.0.0.1). Anything
 * beyond loopback is refused.
 */
export function debugListenAddress(value: string): string {
  const match = /^\d+$/.test(value) ? ['', '127.0.0.1', value] : /^\[?([^\]]*?)\]?:(\d+)$/.exec(value);
  const host = match?.[1];
  const port = Number(match?.[2]);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UserError(`--debug-port ${value} is not an address`, 'Give 127.0.0.1:PORT (or a bare port, which means 127.0.0.1:PORT).');
  }
  if (!isLoopback(host)) {
    throw new UserError(
      `--debug-port ${value}: delve's API has no authentication and what it debugs runs as root, so anyone who reached the port could run any code on this machine`,
      'Listen on 127.0.0.1:PORT and reach it from elsewhere through an SSH tunnel (ssh -L PORT:127.0.0.1:PORT).',
    );
  }
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function isLoopback(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  if (isIP(hostname) === 4) return hostname.startsWith('127.');
  if (isIP(hostname) === 6) return hostname === '::1' || hostname === '0:0:0:0:0:0:0:1';
  return false;
}
