import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import { jsonOrUndefined } from '../core/json-file.js';
import type { CacheConfig } from './config.js';
import { artifactSchema, COMPONENT_ANNOTATION, CREATED_ANNOTATION, FINGERPRINT_ANNOTATION } from './component-store.js';
import { credentialsRefused, registryClient } from './credentials.js';
import { readUses, USES_TAG_PREFIX, writeUses } from './entry-uses.js';
import {
  dayOf,
  distinctObjects,
  GOCACHE_TAG_PREFIX,
  latestDay,
  packsOf,
  readGoCacheMap,
  repackSparse,
  trimGoCacheMap,
  writeGoCacheMap,
} from './go-cache-map.js';
import { CONFIG_LIMIT, imageConfigSchema, imageManifestSchema, imageUsesName } from './image-store.js';
import { RegistryAuthError, type RegistryClient } from './registry.js';
import { signatureTag } from './signing.js';

/**
 * What the shared cache holds for this project: each component entry with
 * its size, age and signature, read from the registry's tag list and the
 * entries' manifests (the registry itself is the record; nothing is kept
 * beside it). Registries do not record reads, so an entry's age is its push,
 * or the day a pushing runner last used it (entry-uses.ts).
 */
export interface CacheEntry {
  component: string;
  fingerprint: string;
  tag: string;
  digest: string;
  /** The files and the config: what a machine downloads for it. */
  bytes: number;
  created: Date | undefined;
  /** The day a pushing runner last took the entry or found it there (see entry-uses.ts); undefined when none has. */
  used: Date | undefined;
  /** The name of its map of uses (`uses-<name>`): the component, or the image's `<kind>-<image>`. */
  usesName: string;
  signed: boolean;
}

export type InventoryEvent =
  | { type: 'registry'; name: string; pushing: boolean }
  | { type: 'entry'; entry: CacheEntry }
  | { type: 'summary'; entries: number; components: Record<string, { entries: number; bytes: number }>; bytes: number; uniqueBytes: number }
  | { type: 'pruned'; entry: CacheEntry }
  /** A component's Go cache map without the actions no build used since the cutoff. */
  | { type: 'gocache-pruned'; tag: string; removed: number; kept: number; repacked: number; bytes: number }
  | { type: 'prune-finished'; removed: number; kept: number; bytes: number; cutoff: Date }
  /** A component's Go build cache in the registry (`ls`, `status`). */
  | { type: 'gocache'; map: GoCacheSummary };

/** A `gocache-<component>` map: what go's builds of the component left in the registry. */
export interface GoCacheSummary {
  component: string;
  tag: string;
  actions: number;
  objects: number;
  packs: number;
  /** Its packs and loose objects: what a machine may download of it. */
  bytes: number;
  /** The newest day a push recorded for one of its actions. */
  lastUsed: Date | undefined;
}

const ENTRY_TAG = /^([a-z0-9-]+)-([0-9a-f]{64})$/;
/** An image by its kind, recipe and key (image-store.ts's imageTag). */
const IMAGE_TAG = /^(frozen|dev)-([A-Za-z0-9_.-]+)-([0-9a-f]{32})$/;
/** How images' entries are named in the listing, beside the components: `frozen-image/busybox-latest`, `dev-image/bookworm`. */
const IMAGE_PREFIX = { frozen: 'frozen-image/', dev: 'dev-image/' } as const;

export async function openInventoryClient(config: CacheConfig, env: Env): Promise<RegistryClient> {
  const client = await registryClient(config, env);
  try {
    await client.ping();
  } catch (error) {
    if (error instanceof RegistryAuthError) {
      throw credentialsRefused(error.message, config.address.host);
    }
    throw new UserError(`the cache registry ${client.name} is unreachable: ${error instanceof Error ? error.message : String(error)}`);
  }
  return client;
}

/** A dev image's build time, from its config: one per Dockerfile revision, so prune ages old ones out by it. */
async function buildTime(client: RegistryClient, configDigest: string): Promise<Date | undefined> {
  const config = imageConfigSchema.safeParse(jsonOrUndefined(await client.blob(configDigest, CONFIG_LIMIT)));
  const created = config.success ? config.data.created : undefined;
  return created ? new Date(created) : undefined;
}

/** Every component entry in the repository, oldest first, with the blobs they reference (digest → size: each once, however many share it). */
export async function listEntries(client: RegistryClient): Promise<{ entries: CacheEntry[]; blobs: Map<string, number>; tags: string[] }> {
  const tags = await client.tags();
  const tagSet = new Set(tags);
  const entries: CacheEntry[] = [];
  const blobs = new Map<string, number>();
  for (const tag of tags) {
    const image = IMAGE_TAG.exec(tag);
    if (image) {
      const manifest = await client.manifest(tag);
      const parsed = manifest ? imageManifestSchema.safeParse(jsonOrUndefined(manifest.body)) : undefined;
      if (!manifest || !parsed?.success) continue;
      for (const blob of [parsed.data.config, ...parsed.data.layers]) blobs.set(blob.digest, blob.size);
      const kind = image[1] as keyof typeof IMAGE_PREFIX;
      entries.push({
        component: `${IMAGE_PREFIX[kind]}${image[2] as string}`,
        usesName: imageUsesName({ kind, image: image[2] as string }),
        fingerprint: image[3] as string,
        tag,
        digest: manifest.digest,
        bytes: parsed.data.config.size + parsed.data.layers.reduce((sum, layer) => sum + layer.size, 0),
        created: kind === 'dev' ? await buildTime(client, parsed.data.config.digest) : undefined,
        used: undefined,
        signed: tagSet.has(signatureTag(manifest.digest)),
      });
      continue;
    }
    const match = ENTRY_TAG.exec(tag);
    if (!match) continue;
    const manifest = await client.manifest(tag);
    const parsed = manifest ? artifactSchema.safeParse(jsonOrUndefined(manifest.body)) : undefined;
    if (!manifest || !parsed?.success) continue; // not one of ours, or gone since the list
    const artifact = parsed.data;
    for (const blob of [artifact.config, ...artifact.layers]) blobs.set(blob.digest, blob.size);
    const created = artifact.annotations?.[CREATED_ANNOTATION];
    const component = artifact.annotations?.[COMPONENT_ANNOTATION] ?? match[1] ?? '';
    entries.push({
      component,
      usesName: component,
      fingerprint: artifact.annotations?.[FINGERPRINT_ANNOTATION] ?? (match[2] as string),
      tag,
      digest: manifest.digest,
      bytes: artifact.config.size + artifact.layers.reduce((sum, layer) => sum + layer.size, 0),
      created: created ? new Date(created) : undefined,
      used: undefined,
      signed: tagSet.has(signatureTag(manifest.digest)),
    });
  }
  for (const tag of tags.filter((name) => name.startsWith(USES_TAG_PREFIX))) {
    const name = tag.slice(USES_TAG_PREFIX.length);
    const uses = await readUses(client, name);
    for (const entry of entries) {
      const day = entry.usesName === name ? uses.get(entry.fingerprint) : undefined;
      if (day !== undefined) entry.used = new Date(day * 86_400_000);
    }
  }
  entries.sort((a, b) => (a.created?.getTime() ?? 0) - (b.created?.getTime() ?? 0));
  return { entries, blobs, tags };
}

/** The bytes of these blobs, each counted once. */
export function distinctBytes(...blobSets: ReadonlyArray<ReadonlyMap<string, number>>): number {
  const all = new Map(blobSets.flatMap((blobs) => [...blobs]));
  return [...all.values()].reduce((sum, size) => sum + size, 0);
}

export function summarize(entries: readonly CacheEntry[], uniqueBytes: number): Extract<InventoryEvent, { type: 'summary' }> {
  const components: Record<string, { entries: number; bytes: number }> = {};
  for (const entry of entries) {
    const row = (components[entry.component] ??= { entries: 0, bytes: 0 });
    row.entries += 1;
    row.bytes += entry.bytes;
  }
  return { type: 'summary', entries: entries.length, components, bytes: entries.reduce((sum, e) => sum + e.bytes, 0), uniqueBytes };
}

/**
 * The entries pushed before `cutoff`, except each component's newest (so a
 * machine at the latest pins still hits); removed with their signatures.
 * The registry frees the blobs no manifest references at its next garbage
 * collection (`registry garbage-collect`), which is the registry's to run.
 */
export function entriesToPrune(entries: readonly CacheEntry[], cutoff: Date): CacheEntry[] {
  const newest = new Map<string, CacheEntry>();
  for (const entry of entries) {
    const kept = newest.get(entry.component);
    if (!kept || lastActive(entry) >= lastActive(kept)) newest.set(entry.component, entry);
  }
  // An entry with neither time (a frozen image no pushing runner has used: its manifest and config carry fixed times) is never old enough.
  const activeSince = (entry: CacheEntry) =>
    (entry.created !== undefined && entry.created.getTime() >= cutoff.getTime()) || (entry.used !== undefined && dayOf(entry.used) >= dayOf(cutoff));
  const old = entries.filter((entry) => (entry.created ?? entry.used) !== undefined && newest.get(entry.component) !== entry && !activeSince(entry));
  // Removing is deleting the manifest, with every tag on it: one a kept entry shares (two keys of an image made to the same bytes) stays.
  const doomed = new Set(old);
  const keptDigests = new Set(entries.filter((entry) => !doomed.has(entry)).map((entry) => entry.digest));
  return old.filter((entry) => !keptDigests.has(entry.digest));
}

/** When the entry was last pushed or used, in ms; 0 when neither is known. */
function lastActive(entry: CacheEntry): number {
  return Math.max(entry.created?.getTime() ?? 0, entry.used?.getTime() ?? 0);
}

/** The pruned entries' fingerprints out of their components' maps of uses, so those do not outgrow the entries. */
export async function forgetUses(client: RegistryClient, pruned: readonly CacheEntry[]): Promise<void> {
  for (const name of new Set(pruned.filter((entry) => entry.used).map((entry) => entry.usesName))) {
    const uses = await readUses(client, name);
    for (const entry of pruned) if (entry.usesName === name) uses.delete(entry.fingerprint);
    await writeUses(client, name, uses);
  }
}

export async function removeEntry(client: RegistryClient, entry: CacheEntry): Promise<void> {
  if (entry.signed) {
    const signature = await client.manifest(signatureTag(entry.digest));
    if (signature) await client.deleteManifest(signature.digest);
  }
  await client.deleteManifest(entry.digest);
}

/** Every Go cache map among the repository's `tags`, and the sizes of the blobs they keep (for the registry's distinct total). */
export async function listGoCacheMaps(client: RegistryClient, tags: readonly string[]): Promise<{ maps: GoCacheSummary[]; blobs: Map<string, number> }> {
  const maps: GoCacheSummary[] = [];
  const blobs = new Map<string, number>();
  for (const tag of tags.filter((name) => name.startsWith(GOCACHE_TAG_PREFIX))) {
    const map = await readGoCacheMap(client, tag);
    if (map.size === 0) continue;
    const packs = packsOf(map);
    const objects = distinctObjects(map);
    const loose = objects.filter((entry) => !entry.pack);
    for (const pack of packs) blobs.set(`sha256:${pack.digest}`, pack.size);
    for (const object of loose) blobs.set(`sha256:${object.output}`, object.size);
    const newest = latestDay(map);
    maps.push({
      component: tag.slice(GOCACHE_TAG_PREFIX.length),
      tag,
      actions: map.size,
      objects: objects.length,
      packs: packs.length,
      bytes: [...packs, ...loose].reduce((sum, blob) => sum + blob.size, 0),
      lastUsed: newest > 0 ? new Date(newest * 86_400_000) : undefined,
    });
  }
  return { maps, blobs };
}

/**
 * Every `gocache-<component>` map trimmed to the actions a build used since
 * `cutoff` (each push records the day for the actions its build used); a map
 * with nothing to drop is left as it is.
 */
export async function pruneGoCacheMaps(client: RegistryClient, cutoff: Date): Promise<Array<Extract<InventoryEvent, { type: 'gocache-pruned' }>>> {
  const pruned: Array<Extract<InventoryEvent, { type: 'gocache-pruned' }>> = [];
  for (const tag of (await client.tags()).filter((name) => name.startsWith(GOCACHE_TAG_PREFIX))) {
    const trimmed = trimGoCacheMap(await readGoCacheMap(client, tag), cutoff);
    if (trimmed.removed === 0) continue;
    const repacked = await repackSparse(client, trimmed.kept);
    await writeGoCacheMap(client, tag, repacked.entries);
    pruned.push({
      type: 'gocache-pruned',
      tag,
      removed: trimmed.removed + (trimmed.kept.size - repacked.entries.size),
      kept: repacked.entries.size,
      repacked: repacked.repacked,
      bytes: trimmed.bytes + repacked.bytes,
    });
  }
  return pruned;
}

/** `30d`, `12h`, `90m`: how far back --older-than reaches. */
export function parseAge(value: string): number {
  const match = /^(\d+)([dhm])$/.exec(value);
  if (!match) throw new UserError(`--older-than ${value} is not an age`, 'Use a number of days, hours or minutes: 30d, 12h, 90m.');
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[match[2] as 'd' | 'h' | 'm'];
  return Number(match[1]) * unit;
}
