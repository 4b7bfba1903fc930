import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { inject } from 'vitest';
import { IMAGE } from './image.js';

/** A client for the dev daemon the global setup started. */
export function devDaemon(): Docker {
  return new Docker({ socketPath: inject('devDaemonSocket') });
}

/** Names are unique per run so a case never meets a leftover of another. */
export function uniqueName(prefix: string): string {
  return `mmk-${prefix}-${randomBytes(3).toString('hex')}`;
}

export interface Finished {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Splits the multiplexed (non-TTY) log stream: 8-byte headers, 1 = stdout, 2 = stderr. */
export function demux(buffer: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  for (let offset = 0; offset + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(offset + 4);
    const frame = buffer.subarray(offset + 8, offset + 8 + size);
    (buffer[offset] === 2 ? err : out).push(frame);
    offset += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** Creates, starts and waits for a container; returns its exit code and output, then removes it. */
export async function runToCompletion(
  docker: Docker,
  cmd: string[],
  options: Partial<Docker.ContainerCreateOptions> = {},
): Promise<Finished & { inspect: Docker.ContainerInspectInfo }> {
  const container = await docker.createContainer({ Image: IMAGE, Cmd: cmd, ...options });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = await container.logs({ stdout: true, stderr: true, follow: false });
    return { exitCode: StatusCode, ...demux(logs), inspect: await container.inspect() };
  } finally {
    await container.remove({ force: true });
  }
}

/** Starts a long-running container and returns it; the caller removes it. */
export async function startDetached(docker: Docker, cmd: string[], options: Partial<Docker.ContainerCreateOptions> = {}): Promise<Docker.Container> {
  const container = await docker.createContainer({ Image: IMAGE, Cmd: cmd, ...options });
  await container.start();
  return container;
}

export async function execIn(container: Docker.Container, cmd: string[]): Promise<Finished> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const { ExitCode } = await exec.inspect();
  return { exitCode: ExitCode ?? -1, ...demux(Buffer.concat(chunks)) };
}
