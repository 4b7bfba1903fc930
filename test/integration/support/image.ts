import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { writeBusyboxRootfs } from './rootfs.js';

/** The image every case runs: no registry is reachable, so it is imported from a local rootfs. */
export const IMAGE = 'moby-make/busybox:test';

/** POST /images/create?fromSrc=- with a tar of the rootfs, as `docker import` does. */
export async function importBusyboxImage(docker: Docker, reference = IMAGE): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mmk-rootfs-'));
  try {
    writeBusyboxRootfs(dir);
    const tar = spawn('tar', ['-C', dir, '--numeric-owner', '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [repo, tag] = reference.split(':') as [string, string];
    const progress = await docker.importImage(tar.stdout, { repo, tag });
    await followProgress(docker, progress);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits for a progress stream (import, build) and fails on the first error it reports. */
export function followProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: Array<Record<string, unknown>>) => {
      const reported = output?.find((event) => event.error || event.errorDetail);
      if (error) reject(error);
      else if (reported) reject(new Error(typeof reported.error === 'string' ? reported.error : JSON.stringify(reported.errorDetail)));
      else resolve(output);
    });
  });
}
