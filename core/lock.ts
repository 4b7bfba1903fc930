import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from './errors.js';
import { processAlive } from './procfs.js';

/** One holder at a time (a build per bundles folder, a test run per results folder); a lock left by a dead process is taken over. */
export async function acquireLock(path: string, holder = 'moby-make build'): Promise<() => Promise<void>> {
  await mkdir(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (pid && processAlive(pid)) {
        throw new UserError(`another ${holder} (pid ${pid}) is using ${dirname(path)}`, 'Wait for it to finish, or stop it.');
      }
      await rm(path, { force: true });
    }
  }
  throw new UserError(`cannot take the lock ${path}`);
}
