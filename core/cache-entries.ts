import { readdir, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Keeps a cache folder of keyed entries (<root>/<key>/) small: `keep` and the
 * most recently used others up to `kept` entries in all; hidden names (a fill
 * in progress, see populateAtomically) are left alone.
 */
export async function pruneCacheEntries(root: string, keep: string, kept = 1): Promise<void> {
  const others = (await readdir(root)).filter((name) => name !== keep && !name.startsWith('.'));
  const byUse = await Promise.all(others.map(async (name) => ({ name, used: (await stat(join(root, name))).mtimeMs })));
  byUse.sort((a, b) => b.used - a.used);
  for (const { name } of byUse.slice(Math.max(0, kept - 1))) await rm(join(root, name), { recursive: true, force: true });
}

/** Marks an entry as just used, for pruneCacheEntries. */
export async function touchCacheEntry(dir: string): Promise<void> {
  const now = new Date();
  await utimes(dir, now, now);
}
