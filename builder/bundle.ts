import { existsSync, lstatSync } from 'node:fs';
import { link, mkdir, readdir, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { BundlePaths } from '../core/bundle-layout.js';
import type { DigestMemo } from '../core/digest-memo.js';
import { digestFile, sha256File, sidecarLine } from '../core/hashing.js';
import { MANIFEST_FILE, emptyManifest, serializeManifest, type ComponentRecord, type FileRecord, type Manifest } from '../core/manifest.js';

export interface BuiltComponent {
  name: string;
  record: Omit<ComponentRecord, 'outputs'>;
  /** Folder holding exactly the component's output files. */
  stagedDir: string;
  outputs: string[];
  /**
   * Records of outputs whose sha256 and size were proven on the way in (the
   * shared cache's blob digests, .builds' intact check): published from these
   * records, md5 included, without hashing the files a second time.
   */
  provenFiles?: Readonly<Record<string, FileRecord>>;
}

/** True when every file the manifest lists for the component is present with its recorded sha256. */
export async function componentIntact(bundleDir: string, manifest: Manifest, component: string, digests?: DigestMemo): Promise<boolean> {
  const record = manifest.components[component];
  return record !== undefined && filesIntact(bundleDir, record.outputs, manifest.files, digests);
}

/**
 * True when each of `names` is in `dir` with the size and sha256 `files`
 * records for it (hashed side by side, on worker threads, or remembered by
 * `digests` while the file's bytes keep their identity).
 */
export async function filesIntact(dir: string, names: readonly string[], files: Readonly<Record<string, FileRecord>>, digests?: DigestMemo): Promise<boolean> {
  const intact = await Promise.all(
    names.map(async (name) => {
      const file = files[name];
      const path = join(dir, name);
      if (!file || !existsSync(path)) return false;
      return (await stat(path)).size === file.size && (await (digests ? digests.sha256(path) : sha256File(path))) === file.sha256;
    }),
  );
  return intact.every(Boolean);
}

async function writeSidecars(dir: string, name: string): Promise<{ md5: string; sha256: string; size: number }> {
  const digests = await digestFile(join(dir, name));
  await writeSidecarFiles(dir, name, digests);
  return { ...digests, size: (await stat(join(dir, name))).size };
}

/** The sidecars of a file whose digests are already proven, from its record. */
async function writeProvenSidecars(dir: string, name: string, file: FileRecord): Promise<{ md5: string; sha256: string; size: number }> {
  await writeSidecarFiles(dir, name, file);
  return { md5: file.md5, sha256: file.sha256, size: file.size };
}

async function writeSidecarFiles(dir: string, name: string, digests: { md5: string; sha256: string }): Promise<void> {
  await writeFile(join(dir, `${name}.md5`), sidecarLine(digests.md5, name));
  await writeFile(join(dir, `${name}.sha256`), sidecarLine(digests.sha256, name));
}

/**
 * Publishes a new generation: built components are moved in from staging and
 * hashed while unchanged ones are hard-linked from the current bundle, then
 * the symlink swaps.
 */
export async function publish(paths: BundlePaths, built: readonly BuiltComponent[], keep: readonly string[], previous: Manifest): Promise<Manifest> {
  await adoptLegacyDirectory(paths);
  const id = `${Date.now().toString(36)}-${process.pid}`;
  const next = join(paths.generations, id);
  await mkdir(next, { recursive: true });
  const manifest = emptyManifest();

  for (const component of built) {
    for (const output of component.outputs) await rename(join(component.stagedDir, output), join(next, output));
    manifest.components[component.name] = { ...component.record, outputs: component.outputs };
  }
  // Hashed where they will be published, all at once (worker threads, one file per core), while the rest is linked in.
  const hashing = Promise.all(
    built.flatMap((component) =>
      component.outputs.map(async (output) => {
        const proven = component.provenFiles?.[output];
        return { output, component: component.name, ...(await (proven ? writeProvenSidecars(next, output, proven) : writeSidecars(next, output))) };
      }),
    ),
  );
  const [hashed] = await Promise.all([hashing, linkKept(paths, next, keep, previous, manifest)]);
  for (const { output, ...file } of hashed) manifest.files[output] = file;
  await writeFile(join(next, MANIFEST_FILE), serializeManifest(manifest));
  await writeSidecars(next, MANIFEST_FILE);

  const temporaryLink = join(paths.root, `.${paths.name}.${id}`);
  await symlink(join('.generations', id), temporaryLink);
  await rename(temporaryLink, paths.current);
  await pruneGenerations(paths);
  return manifest;
}

/** Unchanged components are hard-linked from the current bundle, as `previous` (its manifest) records them. */
async function linkKept(paths: BundlePaths, next: string, keep: readonly string[], previous: Manifest, manifest: Manifest): Promise<void> {
  for (const name of keep) {
    const record = previous.components[name];
    // A component whose files were removed by hand is dropped; the next build that selects it rebuilds it.
    if (!record || !record.outputs.every((output) => existsSync(join(paths.current, output)))) continue;
    manifest.components[name] = record;
    for (const output of record.outputs) {
      await link(join(paths.current, output), join(next, output));
      const fileRecord = previous.files[output];
      if (fileRecord) manifest.files[output] = fileRecord;
      // Sidecars are rewritten from the manifest's digests, so a lost or edited sidecar is repaired too.
      if (fileRecord) await writeSidecarFiles(next, output, fileRecord);
    }
  }
}

/** A bundle folder from before generations existed becomes the first generation. */
async function adoptLegacyDirectory(paths: BundlePaths): Promise<void> {
  if (!existsSync(paths.current) || lstatSync(paths.current).isSymbolicLink()) return;
  await mkdir(paths.generations, { recursive: true });
  const id = `legacy-${Date.now().toString(36)}`;
  await rename(paths.current, join(paths.generations, id));
  await symlink(join('.generations', id), paths.current);
}

/**
 * Removes every generation no bundle's symlink points at. Each bundle
 * (binary-daemon, binary-client) has its current generation in the same
 * folder, so one bundle's publish must keep the others' generations.
 */
async function pruneGenerations(paths: BundlePaths): Promise<void> {
  const current = await currentGenerations(paths.root);
  for (const entry of await readdir(paths.generations)) {
    if (!current.has(entry)) await rm(join(paths.generations, entry), { recursive: true, force: true });
  }
}

/** The generations that the bundles root's symlinks (`binary-*` -> .generations/<id>) point at. */
async function currentGenerations(root: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isSymbolicLink()) continue;
    const target = await readlink(join(root, entry.name));
    if (dirname(target) === '.generations') ids.add(basename(target));
  }
  return ids;
}
