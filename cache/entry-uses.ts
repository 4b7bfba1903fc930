import { z } from 'zod';
import { jsonOrUndefined } from '../core/json-file.js';
import { dayOf } from './go-cache-map.js';
import { digestOf, OCI_MANIFEST, type RegistryClient } from './registry.js';

/**
 * The days pushing runners last used each entry of a component (or of an
 * image): the artifact `uses-<name>`, whose config maps fingerprint (an
 * image's recipe key) → day (days since 1970-01-01, UTC). Registries do not
 * record reads, and an entry's push time says nothing of the release branch
 * whose CI still takes it every day; `cache prune` keeps what a runner used
 * within the age. A runner records an entry it took, found already there or
 * pushed without a push time of its own (a frozen image), at most once a
 * day: one GET of this small map per entry and run, a write only on a new
 * day. Contributors' read-only machines record nothing.
 */
const USES_ARTIFACT = 'application/vnd.moby-make.uses.v1';
const USES_MEDIA_TYPE = 'application/vnd.moby-make.uses.v1+json';
export const USES_TAG_PREFIX = 'uses-';

/** OCI 1.1's layer for an artifact with no payload. */
const EMPTY = Buffer.from('{}');
const EMPTY_DESCRIPTOR = { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(EMPTY), size: EMPTY.length, data: EMPTY.toString('base64') };

const usesSchema = z.object({ used: z.record(z.string().regex(/^[0-9a-f]{32,64}$/), z.number().int().nonnegative()) });

/** `name`: a component, or an image's `<kind>-<image>` (tag characters only). */
export function usesTag(name: string): string {
  return `${USES_TAG_PREFIX}${name}`;
}

/** Fingerprint → day; empty when there is no map or it is not one of ours. */
export async function readUses(client: RegistryClient, name: string): Promise<Map<string, number>> {
  const manifest = await client.manifest(usesTag(name));
  const config = manifest ? (jsonOrUndefined(manifest.body) as { config?: { digest?: string } } | undefined)?.config?.digest : undefined;
  if (!config) return new Map();
  const parsed = usesSchema.safeParse(jsonOrUndefined(await client.blob(config)));
  return new Map(parsed.success ? Object.entries(parsed.data.used) : []);
}

export async function writeUses(client: RegistryClient, name: string, uses: ReadonlyMap<string, number>): Promise<void> {
  const config = Buffer.from(JSON.stringify({ used: Object.fromEntries(uses) }));
  await client.pushBlob(digestOf(config), config.length, config);
  await client.pushBlob(EMPTY_DESCRIPTOR.digest, EMPTY.length, EMPTY);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: USES_ARTIFACT,
    config: { mediaType: USES_MEDIA_TYPE, digest: digestOf(config), size: config.length },
    layers: [EMPTY_DESCRIPTOR],
  };
  await client.putManifest(usesTag(name), Buffer.from(JSON.stringify(manifest)));
}

/**
 * Records that a pushing runner used the entry today, unless the map says so
 * already. Of two runners writing at once, one's record may be lost; its
 * next run, finding no record of today, writes it again.
 */
export async function recordUse(client: RegistryClient, name: string, fingerprint: string, today = dayOf(new Date())): Promise<void> {
  const uses = await readUses(client, name);
  if (uses.get(fingerprint) === today) return;
  await writeUses(client, name, uses.set(fingerprint, today));
}
