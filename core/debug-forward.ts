import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { UserError } from './errors.js';

/**
 * Where delve cannot listen on the host's loopback itself, its API listens
 * on a unix socket in a folder closed to other users, and its port is this
 * forward to that socket: each moby test binary under DELVE_PORT (in the
 * tests' own network namespace, the socket in the results folder) and a
 * rootless dockerd (in rootlesskit's, the socket in the user's runtime
 * folder). Like delve's own --only-same-user, it accepts a connection only
 * from a process of this user, which it learns from the kernel's socket table.
 */
export interface DebugForward {
  close: () => Promise<void>;
}

export function forwardDebugger(listen: string, socketPath: string): Promise<DebugForward> {
  const separator = listen.lastIndexOf(':');
  const host = listen.slice(0, separator).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(separator + 1));
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (peerUid(client) !== process.getuid?.()) {
      client.destroy();
      return;
    }
    const upstream = connect(socketPath);
    open.add(client).add(upstream);
    const forget = () => open.delete(client) && open.delete(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', forget);
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error) =>
      reject(new UserError(`--debug-port ${listen}: ${error.message}`, 'Pick a free port (--debug-port or DELVE_PORT=127.0.0.1:PORT).')),
    );
    server.listen({ host, port }, () =>
      resolve({
        // A debugger still attached would keep the server open: its connections end with the forward.
        close: () =>
          new Promise((done) => {
            for (const socket of open) socket.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}

/** The uid owning the other end of a loopback TCP connection, from /proc/net/tcp{,6}; undefined when not found. */
export function peerUid(socket: Socket): number | undefined {
  const { remoteAddress, remotePort, localPort } = socket;
  if (remoteAddress === undefined || remotePort === undefined || localPort === undefined) return undefined;
  const peer = `:${hexPort(remotePort)}`;
  const ours = `:${hexPort(localPort)}`;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(peer) && fields[2]?.endsWith(ours)) return Number(fields[7]);
    }
  }
  return undefined;
}

function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}
