import { z } from 'zod';
import { jsonOrUndefined } from '../core/json-file.js';
import { digestOf, OCI_MANIFEST, type RegistryClient } from './registry.js';

/**
 * A component's Go build cache on the registry: the artifact
 * `gocache-<component>`, whose config maps each action to its output object
 * (OutputID = the object's sha256) with the day it was last pushed by a
 * build that used it, and whose layers hold the objects, which keeps them
 * alive. Objects travel in packs: one blob of many objects end to end, each
 * found by its offset. A build's few thousand objects would otherwise be as
 * many requests, and a registry spends more on a request than on a small
 * object's bytes (measured on distribution: about 1.4 ms of its CPU each).
 * A map written before packs (each object its own blob) still reads.
 * The day is what lets `cache prune` drop what no build has used for a
 * while; a map written before days were kept reads as used today.
 */
const GO_CACHE_ARTIFACT = 'application/vnd.moby-make.gocache.v1';
const INDEX_MEDIA_TYPE = 'application/vnd.moby-make.gocache.index.v1+json';
const OBJECT_MEDIA_TYPE = 'application/vnd.moby-make.gocache.object.v1';
const PACK_MEDIA_TYPE = 'application/vnd.moby-make.gocache.pack.v1';
export const GOCACHE_TAG_PREFIX = 'gocache-';

const count = z.number().int().nonnegative();
const indexSchema = z.object({
  /** action → [output, size] (before days), [output, size, day], or [output, size, day, pack, offset] (pack: an index into `packs`). */
  actions: z.record(
    z.string(),
    z.union([z.tuple([z.string(), count]), z.tuple([z.string(), count, z.number().int()]), z.tuple([z.string(), count, z.number().int(), count, count])]),
  ),
  /** [sha256 hex, size] of each pack. */
  packs: z.array(z.tuple([z.string().regex(/^[0-9a-f]{64}$/), count])).optional(),
});

/** A blob of objects end to end. */
export interface Pack {
  /** sha256 hex. */
  digest: string;
  size: number;
}

export interface MapEntry {
  output: string;
  size: number;
  /** Days since 1970-01-01 (UTC) of the last push by a build that used it. */
  day: number;
  /** Where the object is: at `offset` in this pack; its own blob (digest = output) when absent. */
  pack?: Pack;
  offset?: number;
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
  const packs = (index.data.packs ?? []).map(([digest, size]): Pack => ({ digest, size }));
  for (const [action, [output, size, day, packAt, offset]] of Object.entries(index.data.actions)) {
    const pack = packAt === undefined ? undefined : packs[packAt];
    // An object past its pack's end (or in a pack the index does not list) is not there: the action reads as absent, and go compiles it.
    if (packAt !== undefined && (!pack || offset === undefined || offset + size > pack.size)) continue;
    map.set(action, { output, size, day: day ?? today, ...(pack ? { pack, offset } : {}) });
  }
  return map;
}

/** Writes the map and its blobs' manifest under `tag` (the packs and objects must be in the registry already). */
export async function writeGoCacheMap(client: RegistryClient, tag: string, entries: ReadonlyMap<string, MapEntry>): Promise<void> {
  const packs = packsOf(entries);
  const packAt = new Map(packs.map((pack, at) => [pack.digest, at]));
  const actions = Object.fromEntries(
    [...entries].map(([action, entry]) => [
      action,
      entry.pack ? [entry.output, entry.size, entry.day, packAt.get(entry.pack.digest), entry.offset] : [entry.output, entry.size, entry.day],
    ]),
  );
  const index = Buffer.from(JSON.stringify({ actions, packs: packs.map((pack) => [pack.digest, pack.size]) }));
  const indexDigest = digestOf(index);
  await client.pushBlob(indexDigest, index.length, index);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: GO_CACHE_ARTIFACT,
    config: { mediaType: INDEX_MEDIA_TYPE, digest: indexDigest, size: index.length },
    layers: [
      ...packs.map((pack) => ({ mediaType: PACK_MEDIA_TYPE, digest: `sha256:${pack.digest}`, size: pack.size })),
      ...distinctObjects(entries)
        .filter((entry) => !entry.pack)
        .map((entry) => ({ mediaType: OBJECT_MEDIA_TYPE, digest: `sha256:${entry.output}`, size: entry.size })),
    ],
  };
  await client.putManifest(tag, Buffer.from(JSON.stringify(manifest)));
}

/** Each pack the entries use, once. */
export function packsOf(entries: ReadonlyMap<string, MapEntry>): Pack[] {
  return [...new Map([...entries.values()].flatMap((entry) => (entry.pack ? [[entry.pack.digest, entry.pack] as const] : []))).values()];
}

/** The objects in each pack, by the pack's digest, each once. */
export function membersByPack(entries: ReadonlyMap<string, MapEntry>): Map<string, MapEntry[]> {
  const members = new Map<string, Map<string, MapEntry>>();
  for (const entry of entries.values()) {
    if (!entry.pack) continue;
    const inPack = members.get(entry.pack.digest) ?? new Map<string, MapEntry>();
    members.set(entry.pack.digest, inPack.set(entry.output, entry));
  }
  return new Map([...members].map(([digest, inPack]) => [digest, [...inPack.values()]]));
}

/** The newest day a push recorded for one of the entries; 0 when there are none. */
export function latestDay(entries: ReadonlyMap<string, MapEntry>): number {
  // A reduce, not Math.max(...): a map merged over weeks of builds can hold more actions than a call takes arguments.
  return [...entries.values()].reduce((newest, entry) => Math.max(newest, entry.day), 0);
}

/** Each object once (several actions may share an output). */
export function distinctObjects<E extends { output: string }>(entries: ReadonlyMap<string, E>): E[] {
  return [...new Map([...entries.values()].map((entry) => [entry.output, entry])).values()];
}

/**
 * The map without the actions no push has used since `cutoff`: what stays,
 * and the bytes no kept action needs any more (the registry frees them at
 * its garbage collection). A pack is freed whole, once none of its objects
 * is kept.
 */
export function trimGoCacheMap(entries: ReadonlyMap<string, MapEntry>, cutoff: Date): { kept: Map<string, MapEntry>; removed: number; bytes: number } {
  const oldest = dayOf(cutoff);
  const kept = new Map([...entries].filter(([, entry]) => entry.day >= oldest));
  const keptOutputs = new Set([...kept.values()].map((entry) => entry.output));
  const keptPacks = new Set(packsOf(kept).map((pack) => pack.digest));
  const objects = distinctObjects(entries)
    .filter((entry) => !entry.pack && !keptOutputs.has(entry.output))
    .reduce((sum, entry) => sum + entry.size, 0);
  const packs = packsOf(entries)
    .filter((pack) => !keptPacks.has(pack.digest))
    .reduce((sum, pack) => sum + pack.size, 0);
  return { kept, removed: entries.size - kept.size, bytes: objects + packs };
}

/** Where an object is in the registry: a pack and its offset there. */
export type Placed = Required<Pick<MapEntry, 'pack' | 'offset'>>;

/** The objects end to end as one pack blob in the registry, and where each of them is now. */
export async function pushPack(client: RegistryClient, objects: ReadonlyArray<{ output: string; bytes: Buffer }>): Promise<Map<string, Placed>> {
  const body = Buffer.concat(objects.map((object) => object.bytes));
  const digest = digestOf(body);
  await client.pushBlob(digest, body.length, body);
  const pack = { digest: digest.slice('sha256:'.length), size: body.length };
  const places = new Map<string, Placed>();
  let offset = 0;
  for (const object of objects) {
    places.set(object.output, { pack, offset });
    offset += object.bytes.length;
  }
  return places;
}

/** The packs whose objects still in `entries` fill less than half of them: what a repack shrinks. */
export function sparsePacks(entries: ReadonlyMap<string, MapEntry>): Pack[] {
  const live = new Map<string, number>();
  for (const [digest, members] of membersByPack(entries))
    live.set(
      digest,
      members.reduce((sum, member) => sum + member.size, 0),
    );
  return packsOf(entries).filter((pack) => (live.get(pack.digest) ?? 0) * 2 < pack.size);
}

/**
 * Each sparse pack rewritten with the objects `entries` still holds of it
 * (each checked against its OutputID on the way; one that fails is dropped
 * with its actions, as a build would miss it), so that the registry can free
 * the old pack whole: without this, a pack holding one object still used
 * would keep every byte of it. The entries with their new places, and the
 * bytes the old packs held beyond the new ones.
 */
export async function repackSparse(
  client: RegistryClient,
  entries: ReadonlyMap<string, MapEntry>,
): Promise<{ entries: Map<string, MapEntry>; repacked: number; bytes: number }> {
  const sparse = sparsePacks(entries);
  const members = membersByPack(entries);
  const moved = new Map<string, Placed | 'corrupt'>();
  let bytes = 0;
  for (const old of sparse) {
    const body = await client.blobCheckedByParts(`sha256:${old.digest}`, old.size);
    const kept: Array<{ output: string; bytes: Buffer }> = [];
    for (const member of members.get(old.digest) ?? []) {
      const offset = member.offset ?? 0;
      const object = body.subarray(offset, offset + member.size);
      if (digestOf(object) === `sha256:${member.output}`) kept.push({ output: member.output, bytes: object });
      else moved.set(member.output, 'corrupt');
    }
    const places = kept.length > 0 ? await pushPack(client, kept) : new Map<string, Placed>();
    for (const [output, place] of places) moved.set(output, place);
    bytes += old.size - kept.reduce((sum, object) => sum + object.bytes.length, 0);
  }
  const rewritten = new Set(sparse.map((pack) => pack.digest));
  const result = new Map<string, MapEntry>();
  for (const [action, entry] of entries) {
    const place = entry.pack && rewritten.has(entry.pack.digest) ? moved.get(entry.output) : undefined;
    if (place === 'corrupt') continue;
    result.set(action, place ? { ...entry, ...place } : entry);
  }
  return { entries: result, repacked: sparse.length, bytes };
}
