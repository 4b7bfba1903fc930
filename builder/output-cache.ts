import { existsSync } from 'node:fs';
import { link, mkdir, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { BundlePaths } from '../core/bundle-layout.js';
import { readJsonFile } from '../core/json-file.js';
import { componentRecordSchema, fileRecordSchema, type FileRecord, type Manifest } from '../core/manifest.js';
import { filesIntact, type BuiltComponent } from './bundle.js';

/**
 * Earlier builds of a component, by fingerprint: hard links to the files a
 * published generation held, so that undoing an edit (the fingerprint of a
 * tree seen before) gets the earlier build back instead of compiling it
 * again. Bundle files are never written in place, so the links stay exact;
 * each is still checked against its recorded sha256 before it is reused.
 */
const RECORD_FILE = 'record.json';
/** Fingerprints kept per component: enough for a few undo steps without hoarding 100 MB binaries. */
const KEEP_PER_COMPONENT = 3;

const entrySchema = z.object({
  record: componentRecordSchema,
  files: z.record(z.string(), fileRecordSchema),
});

function cacheDir(paths: BundlePaths, component: string, fingerprint?: string): string {
  const dir = join(paths.root, '.builds', component);
  return fingerprint ? join(dir, fingerprint) : dir;
}

/** Keeps the just-published builds of these components for later. */
export async function rememberBuilds(paths: BundlePaths, manifest: Manifest, components: readonly string[]): Promise<void> {
  for (const name of components) {
    const record = manifest.components[name];
    if (!record) continue;
    const dir = cacheDir(paths, name, record.fingerprint);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const files: Record<string, FileRecord> = {};
    for (const output of record.outputs) {
      const file = manifest.files[output];
      if (!file) continue;
      await link(join(paths.current, output), join(dir, output));
      files[output] = file;
    }
    await writeFile(join(dir, RECORD_FILE), `${JSON.stringify({ record, files })}\n`);
  }
}

/**
 * The earlier build with this fingerprint, staged (as hard links) in
 * `stagingDir` for publishing, or undefined when there is none intact.
 */
export async function recallBuild(paths: BundlePaths, component: string, fingerprint: string, stagingDir: string): Promise<BuiltComponent | undefined> {
  const dir = cacheDir(paths, component, fingerprint);
  const entry = readJsonFile(join(dir, RECORD_FILE), entrySchema);
  if (!entry || entry.record.fingerprint !== fingerprint) return undefined;
  if (!(await filesIntact(dir, entry.record.outputs, entry.files))) {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  await mkdir(stagingDir, { recursive: true });
  for (const output of entry.record.outputs) await link(join(dir, output), join(stagingDir, output));
  const now = new Date();
  await utimes(dir, now, now); // most recently used: pruned last
  const { outputs, ...record } = entry.record;
  return { name: component, record, stagedDir: stagingDir, outputs, provenFiles: entry.files };
}

/**
 * Makes room for the builds being published: each of these components keeps
 * its newest earlier builds (most recently used first), one fewer than the
 * limit. It runs beside the publish's hashing, because freeing a 100 MB file
 * costs the kernel ~30 ms that a round should not wait for; the fingerprint
 * being published is never touched (a restored build is its own earlier one).
 */
export async function pruneBuilds(paths: BundlePaths, publishing: ReadonlyArray<{ component: string; fingerprint: string }>): Promise<void> {
  for (const { component, fingerprint } of publishing) {
    const dir = cacheDir(paths, component);
    if (!existsSync(dir)) continue;
    const names = (await readdir(dir)).filter((name) => name !== fingerprint);
    const entries = await Promise.all(names.map(async (name) => ({ name, mtime: (await stat(join(dir, name))).mtimeMs })));
    entries.sort((a, b) => b.mtime - a.mtime);
    for (const old of entries.slice(KEEP_PER_COMPONENT - 1)) await rm(join(dir, old.name), { recursive: true, force: true });
  }
}
