import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * What `docker load` (POST /images/load) reads, around blobs already in
 * `blobs/sha256`: the OCI layout's index.json (a manifest per tag, named as
 * the containerd image store names them) and oci-layout, and the legacy
 * manifest.json a graph-driver store reads. `docker save` has written both
 * since Engine 25.
 */
export interface LayoutImage {
  /** References as `docker images` shows them: `busybox:latest`, `moby-make-dev:bookworm`. */
  tags: readonly string[];
  /** The index's platform field, when the caller knows it. */
  platform?: { architecture: string; variant?: string };
  manifest: { digest: string; size: number };
  configDigest: string;
  layerDigests: readonly string[];
}

export async function writeLayoutIndexes(dir: string, image: LayoutImage): Promise<void> {
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: image.tags.map((tag) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: image.manifest.digest,
      size: image.manifest.size,
      annotations: { 'io.containerd.image.name': fullReference(tag), 'org.opencontainers.image.ref.name': tagOf(tag) },
      ...(image.platform ? { platform: { os: 'linux', ...image.platform } } : {}),
    })),
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const legacy = [{ Config: blobPath(image.configDigest), RepoTags: [...image.tags], Layers: image.layerDigests.map(blobPath) }];
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(legacy));
}

const pulledManifestSchema = z.object({
  config: z.object({ digest: z.string() }),
  layers: z.array(z.object({ digest: z.string() })).min(1),
});

/**
 * Completes a layout whose manifest, config and layers came from a registry
 * (each checked against its digest there) for these tags: what the layout
 * holds, read from its manifest.
 */
export async function completePulledLayout(
  dir: string,
  tags: readonly string[],
  manifestDigest: string,
  platform?: LayoutImage['platform'],
): Promise<LayoutImage> {
  const manifestBody = await readFile(join(dir, blobPath(manifestDigest)));
  const manifest = pulledManifestSchema.parse(JSON.parse(manifestBody.toString()));
  const image: LayoutImage = {
    tags,
    ...(platform ? { platform } : {}),
    manifest: { digest: manifestDigest, size: manifestBody.length },
    configDigest: manifest.config.digest,
    layerDigests: manifest.layers.map((layer) => layer.digest),
  };
  await writeLayoutIndexes(dir, image);
  return image;
}

/** `busybox:latest` → `docker.io/library/busybox:latest`, as the daemon names what it loads. */
export function fullReference(tag: string): string {
  const name = tag.slice(0, tag.lastIndexOf(':'));
  const path = name.includes('/') ? name : `library/${name}`;
  return `docker.io/${path}:${tagOf(tag)}`;
}

function tagOf(reference: string): string {
  return reference.slice(reference.lastIndexOf(':') + 1);
}

export function blobPath(digest: string): string {
  return `blobs/sha256/${digest.replace(/^sha256:/, '')}`;
}
