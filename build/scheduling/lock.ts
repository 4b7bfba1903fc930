import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../../core/errors.js';
import { processAlive } from '../../core/procfs.js';

/** One build per bundles folder at a time; a lock left by a dead process is taken over. */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  await mkdir(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (holder && processAlive(holder)) {
        throw new UserError(`another moby-make build (pid ${holder}) is using ${dirname(path)}`, 'Wait for it to finish, or stop it.');
      }
      await rm(path, { force: true });
    }
  }
  throw new UserError(`cannot take the build lock ${path}`);
}
