import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Env } from '../core/env.js';
import { jsonOrUndefined } from '../core/json-file.js';
import type { ImageEntry, RemoteImages } from '../core/remote-images.js';
import type { RemoteNotice } from '../core/remote-outputs.js';
import type { CacheConfig } from './config.js';
import { DigestMismatchError, digestOf, OCI_MANIFEST, RegistryProtocolError, type RegistryClient } from './registry.js';
import { reasonOf, RegistryStore, type StoreKeys } from './registry-store.js';

/**
 * Images on the cache registry as ordinary images: the very manifest, config
 * and layer blobs of a `docker save` layout, so the manifest digest on the
 * registry is the one in the layout's index.json (the image ID of the
 * containerd image store: B's image is A's), and any OCI client can pull
 * them. Tagged `<kind>-<image>-<key>`, so a lookup is one manifest GET.
 */
const IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** A config is a few KB; more is not an image config of ours. */
export const CONFIG_LIMIT = 1 << 20;

const UNCOMPRESSED_LAYER = 'application/vnd.oci.image.layer.v1.tar';
/** As `docker save` writes them from the containerd image store: OCI's name, and Docker's for a layer the classic builder made. */
const COMPRESSED_LAYERS = ['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip'] as const;

const descriptorSchema = z.object({
  mediaType: z.string(),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});

export const imageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(OCI_MANIFEST),
  config: descriptorSchema.extend({ mediaType: z.literal(IMAGE_CONFIG) }),
  layers: z.array(descriptorSchema.extend({ mediaType: z.enum([UNCOMPRESSED_LAYER, ...COMPRESSED_LAYERS]) })).min(1),
});

export const imageConfigSchema = z.object({
  created: z.string().optional(),
  rootfs: z.object({ type: z.literal('layers'), diff_ids: z.array(z.string()) }),
});

const layoutIndexSchema = z.object({
  mediaType: z.literal(OCI_INDEX).optional(),
  manifests: z.array(descriptorSchema).min(1),
});

export function imageTag(entry: ImageEntry): string {
  return `${imageUsesName(entry)}-${entry.key}`;
}

/** The image's name in tags, without its key: its map of uses is `uses-<this>`. */
export function imageUsesName(entry: Pick<ImageEntry, 'kind' | 'image'>): string {
  return `${entry.kind}-${entry.image.replace(/[^A-Za-z0-9_.-]/g, '-')}`;
}

class CorruptImageError extends Error {}

export class RegistryImageStore extends RegistryStore implements RemoteImages {
  private constructor(client: RegistryClient, pushing: boolean, notify: (notice: RemoteNotice) => void, keys: StoreKeys) {
    super(client, pushing, notify, keys);
  }

  static async open(config: CacheConfig, env: Env, notify: (notice: RemoteNotice) => void): Promise<RegistryImageStore> {
    const { client, keys, down } = await RegistryStore.connect(config, env, notify);
    const store = new RegistryImageStore(client, config.push, notify, keys);
    if (down !== undefined) store.unavailable(down);
    return store;
  }

  async fetch(entry: ImageEntry & { blobsDir: string }): Promise<{ ref: string; manifestDigest: string } | undefined> {
    if (this.away) return undefined;
    const tag = imageTag(entry);
    let ref = `${this.name}:${tag}`;
    try {
      const fetched = await this.client.manifest(tag);
      if (!fetched) return undefined;
      ref = `${this.name}@${fetched.digest}`;
      const refusal = await this.signatureRefusal(fetched.digest);
      if (refusal) {
        this.notify({ kind: 'unsigned', ref, reason: refusal });
        return undefined;
      }
      const manifest = imageManifestSchema.safeParse(jsonOrUndefined(fetched.body));
      if (!manifest.success) throw new CorruptImageError(`its manifest is not an OCI image manifest (${manifest.error.issues[0]?.message ?? 'shape'})`);
      const configBody = await this.client.blob(manifest.data.config.digest, CONFIG_LIMIT);
      const config = imageConfigSchema.safeParse(jsonOrUndefined(configBody));
      if (!config.success) throw new CorruptImageError('its config is not an image config');
      // An uncompressed layer's digest is the diff ID the config names; a compressed one's is checked by docker load as it unpacks.
      const layers = manifest.data.layers;
      const diffIds = config.data.rootfs.diff_ids;
      const matching = layers.length === diffIds.length && layers.every((layer, i) => layer.mediaType !== UNCOMPRESSED_LAYER || layer.digest === diffIds[i]);
      if (!matching) throw new CorruptImageError("its layers are not the ones its config's rootfs names");
      await mkdir(entry.blobsDir, { recursive: true });
      for (const layer of manifest.data.layers) {
        const file = join(entry.blobsDir, hex(layer.digest));
        await this.client.blobToFile(layer.digest, layer.size, `${file}.partial`);
        await rename(`${file}.partial`, file);
      }
      await writeFile(join(entry.blobsDir, hex(manifest.data.config.digest)), configBody);
      await writeFile(join(entry.blobsDir, hex(fetched.digest)), fetched.body);
      if (this.pushing) await this.markUsed(imageUsesName(entry), entry.key, entry.image);
      return { ref, manifestDigest: fetched.digest };
    } catch (error) {
      if (error instanceof CorruptImageError || error instanceof DigestMismatchError || error instanceof RegistryProtocolError) {
        this.notify({ kind: 'corrupt', ref, reason: error.message });
        return undefined;
      }
      this.unavailable(error);
      return undefined;
    }
  }

  async has(entry: ImageEntry): Promise<boolean> {
    if (this.away) return false;
    try {
      const present = await this.client.hasManifest(imageTag(entry));
      if (present && this.pushing) await this.markUsed(imageUsesName(entry), entry.key, entry.image);
      return present;
    } catch (error) {
      this.unavailable(error);
      return false;
    }
  }

  async push(entry: ImageEntry & { dir: string }): Promise<{ ref: string } | undefined> {
    if (this.away || !this.pushing) return undefined;
    const tag = imageTag(entry);
    try {
      if (await this.client.hasManifest(tag)) {
        await this.markUsed(imageUsesName(entry), entry.key, entry.image);
        return undefined;
      }
      const blobs = join(entry.dir, 'blobs', 'sha256');
      const index = layoutIndexSchema.parse(JSON.parse(await readFile(join(entry.dir, 'index.json'), 'utf8')));
      const manifestDigest = index.manifests[0]?.digest ?? '';
      const body = await readFile(join(blobs, hex(manifestDigest)));
      if (digestOf(body) !== manifestDigest) throw new Error(`${entry.dir}: its manifest blob does not have the digest index.json names`);
      const manifest = imageManifestSchema.parse(JSON.parse(body.toString()));
      for (const blob of [...manifest.layers, manifest.config]) {
        const path = join(blobs, hex(blob.digest));
        if (!existsSync(path) || (await stat(path)).size !== blob.size) throw new Error(`${entry.dir}: blob ${blob.digest} is missing or cut short`);
        await this.client.pushBlob(blob.digest, blob.size, () => createReadStream(path));
      }
      const digest = await this.client.putManifest(tag, body);
      await this.sign(digest);
      // A frozen image's manifest carries no push time: its first use is its push.
      await this.markUsed(imageUsesName(entry), entry.key, entry.image);
      return { ref: `${this.name}@${digest}` };
    } catch (error) {
      this.notify({ kind: 'push-failed', store: this.name, component: entry.image, reason: reasonOf(error) });
      return undefined;
    }
  }
}

function hex(digest: string): string {
  return digest.replace(/^sha256:/, '');
}
