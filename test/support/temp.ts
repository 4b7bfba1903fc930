import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountsUnder } from '../../devdaemon/leftovers.js';

const created: string[] = [];

/** A fresh folder for this test file; removed after the file's tests pass, kept (and named) when one fails. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `moby-make-${prefix}-`));
  created.push(dir);
  return dir;
}

/** Called once per test file by test/support/setup.ts. */
export function cleanUpTempDirs(keep: boolean): { kept: string[] } {
  const dirs = created.splice(0);
  if (keep) return { kept: dirs };
  // A folder with something still mounted below it is left alone: recursive removal would reach into the mount.
  const kept = dirs.filter((dir) => mountsUnder(dir).length > 0);
  for (const dir of dirs) if (!kept.includes(dir)) rmSync(dir, { recursive: true, force: true });
  return { kept };
}
