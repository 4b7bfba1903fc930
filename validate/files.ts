import { open, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Env } from '../core/env.js';
import { git, type ValidateTree } from './tree.js';

/** Every file of the tree, relative to it, without .git: for trees that are not git checkouts. */
export async function walkFiles(dir: string, skip: (path: string) => boolean = () => false): Promise<string[]> {
  const files: string[] = [];
  const visit = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const rel = relative(dir, path);
      if (entry.name === '.git' || skip(rel)) continue;
      if (entry.isDirectory()) await visit(path);
      else if (entry.isFile()) files.push(rel);
    }
  };
  await visit(dir);
  return files.sort();
}

const SHEBANG_LINE = /(^|\n)#!/;
/** Enough of a file to find a line starting with `#!` where scripts have it; whole-file reads of vendor-sized trees are what this avoids. */
const READ_BYTES = 1 << 20;

async function hasShebangLine(file: string, buffer: Buffer): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, 0);
    const bytes = buffer.subarray(0, bytesRead);
    // git grep reports binary files only as "Binary file matches"; a script has no NUL byte.
    return !bytes.includes(0) && SHEBANG_LINE.test(bytes.toString('latin1'));
  } finally {
    await handle.close();
  }
}

/**
 * The files `git grep --name-only '^#!'` lists, for a checkout; for a tree
 * without git (the module cache's), the same files found by reading them.
 */
export async function filesWithShebangLine(tree: ValidateTree, env: Env): Promise<string[]> {
  if (tree.git) {
    const result = await git(tree, ['grep', '-z', '-I', '--name-only', '^#!'], env);
    return result.stdout.split('\0').filter(Boolean).sort();
  }
  const found: string[] = [];
  const buffer = Buffer.alloc(READ_BYTES);
  for (const file of await walkFiles(tree.dir)) if (await hasShebangLine(join(tree.dir, file), buffer)) found.push(file);
  return found;
}
