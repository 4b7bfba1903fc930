import { existsSync } from 'node:fs';
import { link, mkdir, readdir, rename, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { BundlePaths } from '../core/bundle-layout.js';

/**
 * Starts an empty bundles root (a debug build's) as a copy of another's
 * current bundle, by hard links: components whose fingerprint is the same
 * there are then up to date instead of being compiled again.
 */
export async function seedBundle(from: BundlePaths, to: BundlePaths): Promise<boolean> {
  if (existsSync(to.current) || !existsSync(from.current)) return false;
  const id = `seed-${Date.now().toString(36)}-${process.pid}`;
  const generation = join(to.generations, id);
  await mkdir(generation, { recursive: true });
  for (const name of await readdir(from.current)) await link(join(from.current, name), join(generation, name));
  const temporaryLink = join(to.root, `.binary-daemon.${id}`);
  await symlink(join('.generations', id), temporaryLink);
  await rename(temporaryLink, to.current);
  return true;
}
