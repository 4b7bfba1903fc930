import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { pruneCacheEntries, touchCacheEntry } from '../../core/cache-entries.js';
import { join } from 'node:path';
import { sha256Text } from '../../core/hashing.js';
import { populateAtomically } from '../../core/populate-atomically.js';
import { fullReference } from '../../core/image-layout.js';
import type { FrozenArchive } from '../frozen-images/index.js';

/**
 * moby's loader (internal/testutil/fixtures/load FrozenImagesLinux) loads
 * hello-world:latest from /docker-frozen-images and re-tags it
 * hello-world:frozen; our recipe makes it under its final name.
 */
const FOLDER_NAMES: Readonly<Record<string, string>> = { 'hello-world:frozen': 'hello-world:latest' };

export interface FrozenFolder {
  dir: string;
  /** The Dockerfile's references that no recipe here makes (said in the run's notes). */
  missing: string[];
}

interface LegacyEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

interface IndexFile {
  manifests: Array<{ annotations?: Record<string, string> }>;
}

/**
 * /docker-frozen-images as moby's Dockerfile lays it out: one `docker save`
 * folder with every image its frozen-images stage downloads, which the
 * loader tars whole into POST /images/load. Made from the recipes' folders
 * in the cache (blobs hard-linked), under the names the Dockerfile uses.
 */
export async function ensureFrozenFolder(archives: readonly FrozenArchive[], wanted: readonly string[], cacheDir: string): Promise<FrozenFolder> {
  const renamed = (tag: string) => FOLDER_NAMES[tag] ?? tag;
  const chosen = archives.filter((archive) => archive.info.tags.some((tag) => wanted.includes(renamed(tag))));
  const provided = new Set(chosen.flatMap((archive) => archive.info.tags.map(renamed)));
  const missing = wanted.filter((reference) => !provided.has(reference));
  const key = sha256Text(JSON.stringify(chosen.map((archive) => [archive.info.configDigest, archive.info.tags, wanted]))).slice(0, 32);
  const root = join(cacheDir, 'dev-container', 'frozen-images');
  const dir = join(root, key);
  if (existsSync(join(dir, 'manifest.json'))) await touchCacheEntry(dir);
  else {
    await populateAtomically(dir, async (temp) => {
      const blobs = join(temp, 'blobs', 'sha256');
      await mkdir(blobs, { recursive: true });
      const legacy: LegacyEntry[] = [];
      const index: IndexFile['manifests'] = [];
      for (const archive of chosen) {
        for (const blob of await readdir(join(archive.dir, 'blobs', 'sha256'))) {
          if (!existsSync(join(blobs, blob))) await linkOrCopy(join(archive.dir, 'blobs', 'sha256', blob), join(blobs, blob));
        }
        const entries = JSON.parse(await readFile(join(archive.dir, 'manifest.json'), 'utf8')) as LegacyEntry[];
        legacy.push(...entries.map((entry) => ({ ...entry, RepoTags: entry.RepoTags.map(renamed) })));
        const own = JSON.parse(await readFile(join(archive.dir, 'index.json'), 'utf8')) as IndexFile;
        for (const manifest of own.manifests) {
          const name = manifest.annotations?.['io.containerd.image.name'];
          const tag = archive.info.tags.find((candidate) => fullReference(candidate) === name);
          const final = tag === undefined ? undefined : renamed(tag);
          index.push(
            final === undefined
              ? manifest
              : {
                  ...manifest,
                  annotations: {
                    ...manifest.annotations,
                    'io.containerd.image.name': fullReference(final),
                    'org.opencontainers.image.ref.name': final.slice(final.lastIndexOf(':') + 1),
                  },
                },
          );
        }
      }
      await writeFile(join(temp, 'manifest.json'), JSON.stringify(legacy));
      await writeFile(join(temp, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: index }));
      await writeFile(join(temp, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    });
    // A few: the fixture tree and moby's want different folders.
    await pruneCacheEntries(root, key, 3);
  }
  return { dir, missing };
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}
