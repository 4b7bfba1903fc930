import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../core/errors.js';
import { acquireLock } from '../../core/lock.js';

/**
 * Runs `work` while holding a lock file, waiting for other moby-make runs that
 * hold it (a lock left by a dead process is taken over by acquireLock).
 */
export async function withWaitingLock<T>(path: string, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  for (;;) {
    signal.throwIfAborted();
    let release: (() => Promise<void>) | undefined;
    try {
      release = await acquireLock(path);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      await sleep(250, undefined, { signal });
      continue;
    }
    try {
      return await work();
    } finally {
      await release();
    }
  }
}
