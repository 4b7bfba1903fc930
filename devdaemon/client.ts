import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';

/** A dockerode client for a unix socket path. */
export function clientFor(socket: string): Docker {
  return new Docker({ socketPath: socket });
}

export async function pingOnce(docker: Docker): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

/**
 * Polls until the API answers, or until `gaveUp` says the daemon is gone.
 * The socket file appears before the API serves, so the cheap existence test
 * runs first and the HTTP ping only once it is there.
 */
export async function waitForPing(socket: string, gaveUp: () => boolean, intervalMs = 10): Promise<boolean> {
  const docker = clientFor(socket);
  for (;;) {
    if (gaveUp()) return false;
    if (existsSync(socket) && (await pingOnce(docker))) return true;
    await sleep(intervalMs);
  }
}
