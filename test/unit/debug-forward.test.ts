import { spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forwardDebugger } from '../../core/debug-forward.js';
import { tempDir } from '../support/temp.js';

/** Stands in for delve's unix socket: answers every line with "echo: <line>". */
const socketPath = join(tempDir('debug-forward'), 'dlv.sock');
const echo = createServer((socket) => socket.on('data', (data) => socket.write(`echo: ${data.toString()}`))).listen(socketPath);

async function freeLoopbackPort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

afterAll(() => echo.close());

describe("the debugger's loopback forward", () => {
  it("leads this user's connections to delve's socket and closes another user's", async () => {
    const port = await freeLoopbackPort();
    const forward = await forwardDebugger(`127.0.0.1:${port}`, socketPath);
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const client = connect({ host: '127.0.0.1', port }, () => client.write('hello\n'));
        client.once('data', (data) => {
          resolve(data.toString());
          client.end();
        });
        client.once('error', reject);
      });
      expect(answer).toBe('echo: hello\n');
      // nobody (65534) connects: the forward closes the connection without a word from delve.
      // (Not spawnSync: the forward runs in this process and must keep accepting meanwhile.)
      const stranger = spawn('setpriv', [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'bash',
        '-c',
        `exec 3<>/dev/tcp/127.0.0.1/${port}; echo hello >&3; timeout 5 cat <&3`,
      ]);
      let heard = '';
      stranger.stdout.on('data', (data: Buffer) => (heard += data.toString()));
      const code = await new Promise<number | null>((resolve) => stranger.on('close', resolve));
      expect(heard).toBe('');
      expect(code).not.toBe(124); // closed at once, not left hanging until timeout gave up
    } finally {
      await forward.close();
    }
  });

  it('closes with a debugger still attached, ending its connection', async () => {
    const port = await freeLoopbackPort();
    const forward = await forwardDebugger(`127.0.0.1:${port}`, socketPath);
    const client = connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => client.once('connect', resolve));
    client.write('attached\n');
    await new Promise((resolve) => client.once('data', resolve));
    const ended = new Promise((resolve) => client.once('close', resolve));
    await forward.close();
    await ended;
  });

  it('names the port and the flag in one line when the port is taken', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => taken.once('listening', resolve));
    const listen = `127.0.0.1:${(taken.address() as AddressInfo).port}`;
    try {
      await expect(forwardDebugger(listen, socketPath)).rejects.toThrow(`--debug-port ${listen}: listen EADDRINUSE`);
    } finally {
      taken.close();
    }
  });
});
