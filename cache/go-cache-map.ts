import { z } from 'zod';
import { jsonOrUndefined } from '../core/json-file.js';
import { digestOf, OCI_MANIFEST, type RegistryClient } from './registry.js';

/**
 * A component's Go build cache on the registry: the artifact
 * `gocache-<component>`, whose config maps each action to its output (an
 * object blob, digest = OutputID) with the day it was last pushed by a build
 * that used it, and whose layers are the objects, which keeps them alive.
 * The day is what lets `cache prune` drop what no build has used for a
 * while; a map written before days were kept reads as used today.
 */
const GO_CACHE_ARTIFACT = 'application/vnd.moby-make.gocache.v1';
const INDEX_MEDIA_TYPE = 'application/vnd.moby-make.gocache.index.v1+json';
const OBJECT_MEDIA_TYPE = 'application/vnd.moby-make.gocache.object.v1';
export const GOCACHE_TAG_PREFIX = 'gocache-';

const indexSchema = z.object({
  actions: z.record(
    z.string(),
    z.union([z.tuple([z.string(), z.number().int().nonnegative()]), z.tuple([z.string(), z.number().int().nonnegative(), z.number().int()])]),
  ),
});

export interface MapEntry {
  output: string;
  size: number;
  /** Days since 1970-01-01 (UTC) of the last push by a build that used it. */
  day: number;
}

export function dayOf(time: Date): number {
  return Math.floor(time.getTime() / 86_400_000);
}

/** The map under `tag`, empty when there is none or it is not one of ours. */
export async function readGoCacheMap(client: RegistryClient, tag: string, today = dayOf(new Date())): Promise<Map<string, MapEntry>> {
  const map = new Map<string, MapEntry>();
  const manifest = await client.manifest(tag);
  if (!manifest) return map;
  const config = (jsonOrUndefined(manifest.body) as { config?: { digest?: string } } | undefined)?.config?.digest;
  if (!config) return map;
  const index = indexSchema.safeParse(jsonOrUndefined(await client.blob(config, 64 << 20)));
  if (!index.success) return map;
  for (const [action, [output, size, day]] of Object.entries(index.data.actions)) map.set(action, { output, size, day: day ?? today });
  return map;
}

/** Writes the map and its objects' manifest under `tag` (the objects must be in the registry already). */
export async function writeGoCacheMap(client: RegistryClient, tag: string, entries: ReadonlyMap<string, MapEntry>): Promise<void> {
  const index = Buffer.from(
    JSON.stringify({ actions: Object.fromEntries([...entries].map(([action, entry]) => [action, [entry.output, entry.size, entry.day]])) }),
  );
  const indexDigest = digestOf(index);
  await client.pushBlob(indexDigest, index.length, index);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: GO_CACHE_ARTIFACT,
    config: { mediaType: INDEX_MEDIA_TYPE, digest: indexDigest, size: index.length },
    layers: distinctObjects(entries).map((entry) => ({ mediaType: OBJECT_MEDIA_TYPE, digest: `sha256:${entry.output}`, size: entry.size })),
  };
  await client.putManifest(tag, Buffer.from(JSON.stringify(manifest)));
}

/** Each object once (several actions may share an output). */
export function distinctObjects(entries: ReadonlyMap<string, MapEntry>): MapEntry[] {
  return [...new Map([...entries.values()].map((entry) => [entry.output, entry])).values()];
}

/**
 * The map without the actions no push has used since `cutoff`: what stays,
 * and the bytes of the objects no kept action needs any more (the registry
 * frees them at its garbage collection).
 */
export function trimGoCacheMap(entries: ReadonlyMap<string, MapEntry>, cutoff: Date): { kept: Map<string, MapEntry>; removed: number; bytes: number } {
  const oldest = dayOf(cutoff);
  const kept = new Map([...entries].filter(([, entry]) => entry.day >= oldest));
  const keptOutputs = new Set([...kept.values()].map((entry) => entry.output));
  const bytes = distinctObjects(entries)
    .filter((entry) => !keptOutputs.has(entry.output))
    .reduce((sum, entry) => sum + entry.size, 0);
  return { kept, removed: entries.size - kept.size, bytes };
}
