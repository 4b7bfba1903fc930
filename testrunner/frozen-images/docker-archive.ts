import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { sha256File } from '../../core/hashing.js';
import { completePulledLayout, writeLayoutIndexes } from '../../core/image-layout.js';

export interface Platform {
  architecture: string;
  variant?: string;
}

/** This machine's platform as image configs name it (GOARCH and variant): Node's x64 is amd64. */
export function hostPlatform(): Platform {
  if (process.arch === 'x64') return { architecture: 'amd64' };
  if (process.arch === 'arm64') return { architecture: 'arm64', variant: 'v8' };
  return { architecture: process.arch };
}

/** What an image is besides its one layer: the fields `docker inspect` shows and tests compare. */
export interface ImageSpec {
  /** References as `docker images` shows them: `busybox:latest`, `arm32v7/hello-world:latest`. */
  tags: readonly string[];
  platform: Platform;
  config: { Cmd: readonly string[]; Env: readonly string[] };
  /** RFC 3339, fixed per recipe so the image ID does not change with the clock. */
  created: string;
  createdBy: string;
}

/** Recorded beside each archive in the cache: enough to tell whether a daemon already has the image. */
export interface ArchiveInfo {
  tags: readonly string[];
  platform: Platform;
  /** sha256:… of the uncompressed layer tar: the image's only RootFS layer in any image store. */
  diffId: string;
  /** sha256:… of the config, the image ID in a graph-driver store. */
  configDigest: string;
}

/**
 * Lays out `docker save` output in `dir` from one layer tar (moved in): the
 * OCI layout (oci-layout, index.json with a manifest per tag, blobs/sha256)
 * and the legacy manifest.json beside it, as `docker save` writes since
 * Engine 25. A tar of `dir` is what `docker load` (POST /images/load) reads,
 * with either image store, keeping tags, config and platform.
 */
export async function writeDockerArchive(dir: string, layerTar: string, spec: ImageSpec): Promise<ArchiveInfo> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const layerHex = await sha256File(layerTar);
  const { size: layerSize } = await stat(layerTar);
  await rename(layerTar, join(blobs, layerHex));

  const config = imageConfig(spec, `sha256:${layerHex}`);
  const configBlob = await writeBlob(blobs, json(config));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configBlob.digest, size: configBlob.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerHex}`, size: layerSize }],
  };
  const manifestBlob = await writeBlob(blobs, json(manifest));
  await writeLayoutIndexes(dir, {
    tags: spec.tags,
    platform: spec.platform,
    manifest: manifestBlob,
    configDigest: configBlob.digest,
    layerDigests: [`sha256:${layerHex}`],
  });
  return { tags: spec.tags, platform: spec.platform, diffId: `sha256:${layerHex}`, configDigest: configBlob.digest };
}

/**
 * Completes a layout whose blobs came from a registry (manifest, config, the
 * one layer, each checked against its digest there): the same index.json,
 * oci-layout and manifest.json as writeDockerArchive writes for these tags,
 * so the folder is byte for byte the one made here.
 */
export async function completePulledArchive(dir: string, tags: readonly string[], manifestDigest: string): Promise<ArchiveInfo> {
  const blobs = join(dir, 'blobs', 'sha256');
  const manifest = pulledManifestSchema.parse(JSON.parse(await readFile(join(blobs, hex(manifestDigest)), 'utf8')));
  const config = pulledConfigSchema.parse(JSON.parse(await readFile(join(blobs, hex(manifest.config.digest)), 'utf8')));
  const platform: Platform = { architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  const image = await completePulledLayout(dir, tags, manifestDigest, platform);
  return { tags, platform, diffId: image.layerDigests[0] ?? '', configDigest: image.configDigest };
}

const pulledManifestSchema = z.object({
  config: z.object({ digest: z.string() }),
  layers: z.array(z.object({ digest: z.string() })).length(1),
});
const pulledConfigSchema = z.object({ architecture: z.string(), variant: z.string().optional(), os: z.literal('linux') });

export function imageConfig(spec: ImageSpec, diffId: string): Record<string, unknown> {
  return {
    architecture: spec.platform.architecture,
    ...(spec.platform.variant ? { variant: spec.platform.variant } : {}),
    os: 'linux',
    config: { Cmd: spec.config.Cmd, Env: spec.config.Env },
    created: spec.created,
    history: [{ created: spec.created, created_by: spec.createdBy }],
    rootfs: { type: 'layers', diff_ids: [diffId] },
  };
}

async function writeBlob(blobs: string, content: string): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.from(content);
  const digest = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(blobs, digest), bytes);
  return { digest: `sha256:${digest}`, size: bytes.length };
}

function hex(digest: string): string {
  return digest.replace(/^sha256:/, '');
}

function json(value: unknown): string {
  return JSON.stringify(value);
}
