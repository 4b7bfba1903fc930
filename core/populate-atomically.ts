import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { processAlive } from './procfs.js';

/**
 * Fills a cache entry all at once: `fill` works in a temporary sibling of
 * `finalDir` and only a tree it returned without throwing is renamed into
 * place. A reader therefore never sees a half-written entry, and an
 * interrupted fill leaves nothing but a temporary folder that the next fill
 * of the same entry removes.
 */
export async function populateAtomically(finalDir: string, fill: (tempDir: string) => Promise<string | void>): Promise<void> {
  const parent = dirname(finalDir);
  const prefix = `.tmp-${basename(finalDir)}-`;
  await mkdir(parent, { recursive: true });
  for (const name of await readdir(parent)) {
    const pid = Number(name.startsWith(prefix) ? name.slice(prefix.length).split('-')[0] : NaN);
    if (Number.isInteger(pid) && !processAlive(pid)) await rm(join(parent, name), { recursive: true, force: true });
  }
  const temp = await mkdtemp(join(parent, `${prefix}${process.pid}-`));
  try {
    const ready = (await fill(temp)) ?? temp;
    try {
      await rename(ready, finalDir);
    } catch (error) {
      // Another run filled the same entry first: theirs is as good as ours.
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(finalDir)) throw error;
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
