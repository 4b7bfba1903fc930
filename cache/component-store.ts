import { createReadStream } from 'node:fs';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { fileURLToPath } from 'node:url';
import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import { lastLine, run } from '../core/process.js';
import { jsonOrUndefined } from '../core/json-file.js';
import { eachInLanes } from '../core/lanes.js';
import { componentRecordSchema, fileRecordSchema, type ComponentRecord, type FileRecord } from '../core/manifest.js';
import type { RemoteNotice, RemoteOutputs } from '../core/remote-outputs.js';
import { REGISTRY_VARIABLE, type CacheConfig } from './config.js';
import { GOCACHE_DIR_VARIABLE, GOCACHE_TAG_VARIABLE } from './go-cache-program.js';
import { DigestMismatchError, digestOf, OCI_MANIFEST, RegistryProtocolError, type RegistryClient } from './registry.js';
import { reasonOf, RegistryStore, type StoreKeys } from './registry-store.js';
import { launcherArgv } from '../core/typescript-modules.js';

/**
 * A component's outputs as one OCI artifact: an image manifest with the
 * project's artifactType, the component's manifest record (and its files'
 * records) as the config, and one layer per file whose digest is the file's
 * sha256, the same one its `.sha256` sidecar holds. It is tagged
 * `<component>-<fingerprint>`, so a lookup is one manifest GET.
 */
const COMPONENT_ARTIFACT = 'application/vnd.moby-make.component.v1';
const CONFIG_MEDIA_TYPE = 'application/vnd.moby-make.component.config.v1+json';
const FILE_MEDIA_TYPE = 'application/vnd.moby-make.file.v1';
const TITLE = 'org.opencontainers.image.title';
const MODE = 'dev.moby-make.file.mode';
export const COMPONENT_ANNOTATION = 'dev.moby-make.component';
export const FINGERPRINT_ANNOTATION = 'dev.moby-make.fingerprint';
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

const descriptorSchema = z.object({
  mediaType: z.string(),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const artifactSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(OCI_MANIFEST),
  artifactType: z.literal(COMPONENT_ARTIFACT),
  config: descriptorSchema.extend({ mediaType: z.literal(CONFIG_MEDIA_TYPE) }),
  layers: z.array(descriptorSchema.extend({ mediaType: z.literal(FILE_MEDIA_TYPE) })),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ComponentArtifact = z.infer<typeof artifactSchema>;

const configSchema = z.object({
  component: z.string(),
  record: componentRecordSchema,
  files: z.record(z.string(), fileRecordSchema),
});

function entryTag(component: string, fingerprint: string): string {
  return `${component}-${fingerprint}`;
}

/** Reading bytes for the blobs of a layer: two at a time is what one link fills. */
const PARALLEL_BLOBS = 2;

export class RegistryComponentStore extends RegistryStore implements RemoteOutputs {
  private constructor(
    client: RegistryClient,
    pushing: boolean,
    notify: (notice: RemoteNotice) => void,
    keys: StoreKeys,
    /** go's GOCACHE here, which the cache program reads and writes in go's own format. */
    private readonly gocache: string,
  ) {
    super(client, pushing, notify, keys);
  }

  /** The store on the configured registry (see RegistryStore.connect for what fails and what only warns). */
  static async open(config: CacheConfig, env: Env, notify: (notice: RemoteNotice) => void): Promise<RegistryComponentStore> {
    const { client, keys, down } = await RegistryStore.connect(config, env, notify);
    const store = new RegistryComponentStore(client, config.push, notify, keys, await goCacheDir(env));
    if (down !== undefined) store.unavailable(down);
    return store;
  }

  async fetch(entry: {
    component: string;
    fingerprint: string;
    outputs: readonly string[];
    dir: string;
  }): Promise<{ ref: string; files: Readonly<Record<string, FileRecord>> } | undefined> {
    if (this.away) return undefined;
    let ref = `${this.name}:${entryTag(entry.component, entry.fingerprint)}`;
    try {
      const manifest = await this.client.manifest(entryTag(entry.component, entry.fingerprint));
      if (!manifest) return undefined;
      ref = `${this.name}@${manifest.digest}`;
      const refusal = await this.signatureRefusal(manifest.digest);
      if (refusal) {
        this.notify({ kind: 'unsigned', ref, reason: refusal });
        return undefined;
      }
      const artifact = parseArtifact(manifest.body);
      const config = parseConfig(await this.client.blob(artifact.config.digest));
      const layers = checkEntry(artifact, config, entry);
      await mkdir(entry.dir, { recursive: true });
      await eachInLanes(layers, PARALLEL_BLOBS, async (layer) => {
        const partial = join(entry.dir, `.${layer.name}.partial`);
        await this.client.blobToFile(layer.digest, layer.size, partial);
        await chmod(partial, layer.mode);
        await rename(partial, join(entry.dir, layer.name));
      });
      if (this.pushing) await this.markUsed(entry.component, entry.fingerprint, entry.component);
      return { ref, files: Object.fromEntries(layers.map((layer) => [layer.name, { ...layer.file, component: entry.component }])) };
    } catch (error) {
      await rm(entry.dir, { recursive: true, force: true });
      if (error instanceof CorruptEntryError || error instanceof DigestMismatchError || error instanceof RegistryProtocolError) {
        this.notify({ kind: 'corrupt', ref, reason: error.message });
        return undefined;
      }
      this.unavailable(error);
      return undefined;
    }
  }

  async push(entry: {
    component: string;
    record: ComponentRecord;
    files: Readonly<Record<string, FileRecord>>;
    dir: string;
  }): Promise<{ ref: string } | undefined> {
    if (this.away || !this.pushing) return undefined;
    const tag = entryTag(entry.component, entry.record.fingerprint);
    try {
      if (await this.client.hasManifest(tag)) {
        await this.markUsed(entry.component, entry.record.fingerprint, entry.component);
        return undefined;
      }
      const files: Record<string, FileRecord> = {};
      const layers: ComponentArtifact['layers'] = [];
      for (const output of entry.record.outputs) {
        const file = requireFile(entry.files, output);
        const path = join(entry.dir, output);
        const mode = (await stat(path)).mode & 0o777;
        await this.client.pushBlob(`sha256:${file.sha256}`, file.size, () => createReadStream(path));
        files[output] = file;
        layers.push({
          mediaType: FILE_MEDIA_TYPE,
          digest: `sha256:${file.sha256}`,
          size: file.size,
          annotations: { [TITLE]: output, [MODE]: mode.toString(8).padStart(4, '0') },
        });
      }
      const config = Buffer.from(JSON.stringify({ component: entry.component, record: asBuilt(entry.record), files }));
      const configDigest = digestOf(config);
      await this.client.pushBlob(configDigest, config.length, config);
      const artifact: ComponentArtifact = {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: COMPONENT_ARTIFACT,
        config: { mediaType: CONFIG_MEDIA_TYPE, digest: configDigest, size: config.length },
        layers,
        annotations: {
          [COMPONENT_ANNOTATION]: entry.component,
          [FINGERPRINT_ANNOTATION]: entry.record.fingerprint,
          [CREATED_ANNOTATION]: new Date().toISOString(),
        },
      };
      const digest = await this.client.putManifest(tag, Buffer.from(JSON.stringify(artifact)));
      await this.sign(digest);
      return { ref: `${this.name}@${digest}` };
    } catch (error) {
      this.notify({ kind: 'push-failed', store: this.name, component: entry.component, reason: reasonOf(error) });
      return undefined;
    }
  }

  goBuildEnv(component: string): Record<string, string> {
    if (this.away) return {};
    return {
      GOCACHEPROG: GO_CACHE_PROGRAM,
      // The program finds the registry as make did, --cache-registry included, which its environment would not say.
      [REGISTRY_VARIABLE]: this.name,
      [GOCACHE_DIR_VARIABLE]: this.gocache,
      [GOCACHE_TAG_VARIABLE]: `gocache-${component}`,
    };
  }
}

/**
 * The cache program, started as the project's commands are: go waits for it
 * before its build goes on. go splits GOCACHEPROG at spaces and honours
 * quotes.
 */
const GO_CACHE_PROGRAM = launcherArgv(fileURLToPath(new URL('./go-cache-main.ts', import.meta.url)))
  .map((word) => (word.includes("'") ? `"${word}"` : `'${word}'`))
  .join(' ');

async function goCacheDir(env: Env): Promise<string> {
  const result = await run(['go', 'env', 'GOCACHE'], { env });
  const dir = result.stdout.trim();
  if (result.exitCode !== 0 || !dir || dir === 'off')
    throw new UserError(`go env GOCACHE failed or is off: ${lastLine(result.stderr)}`, 'The shared Go build cache needs a GOCACHE folder.');
  return dir;
}

/** A stored entry that does not describe the build asked for, or describes it wrongly. */
class CorruptEntryError extends Error {}

function parseArtifact(body: Buffer): ComponentArtifact {
  const parsed = artifactSchema.safeParse(jsonOrUndefined(body));
  if (!parsed.success) throw new CorruptEntryError(`its manifest is not a moby-make component artifact (${parsed.error.issues[0]?.message ?? 'shape'})`);
  return parsed.data;
}

function parseConfig(body: Buffer): z.infer<typeof configSchema> {
  const parsed = configSchema.safeParse(jsonOrUndefined(body));
  if (!parsed.success) throw new CorruptEntryError(`its config is not a component record (${parsed.error.issues[0]?.message ?? 'shape'})`);
  return parsed.data;
}

interface Layer {
  name: string;
  digest: string;
  size: number;
  mode: number;
  /** The config's record for the file, whose sha256 and size are the layer's. */
  file: FileRecord;
}

/**
 * The entry must be the build asked for, file for file: the same component
 * and fingerprint in its record, exactly the outputs this build makes, and
 * each layer the digest and size its file record says (so the sha256 the
 * bundle will hold is the one the registry's digest check proves).
 */
function checkEntry(
  artifact: ComponentArtifact,
  config: z.infer<typeof configSchema>,
  entry: { component: string; fingerprint: string; outputs: readonly string[] },
): Layer[] {
  if (config.component !== entry.component || config.record.fingerprint !== entry.fingerprint) {
    throw new CorruptEntryError(
      `it holds ${config.component} ${config.record.fingerprint.slice(0, 12)}, not ${entry.component} ${entry.fingerprint.slice(0, 12)}`,
    );
  }
  const names = artifact.layers.map((layer) => layer.annotations?.[TITLE] ?? '');
  if ([...names].sort().join('\n') !== [...entry.outputs].sort().join('\n')) {
    throw new CorruptEntryError(`it holds ${names.join(', ') || 'no files'}, not ${entry.outputs.join(', ')}`);
  }
  return artifact.layers.map((layer, i) => {
    const name = names[i] as string;
    const file = config.files[name];
    if (!file || `sha256:${file.sha256}` !== layer.digest || file.size !== layer.size)
      throw new CorruptEntryError(`its layer for ${name} is not the file its record describes`);
    const mode = Number.parseInt(layer.annotations?.[MODE] ?? '0755', 8);
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new CorruptEntryError(`its mode for ${name} is not a file mode`);
    return { name, digest: layer.digest, size: layer.size, mode, file };
  });
}

function requireFile(files: Readonly<Record<string, FileRecord>>, output: string): FileRecord {
  const file = files[output];
  if (!file) throw new Error(`the manifest has no file record for ${output}`);
  return file;
}

/** The record as the build made it: where this machine's copy came from is not part of the entry. */
function asBuilt(record: ComponentRecord): ComponentRecord {
  const { fromCache: _fromCache, ...rest } = record;
  return rest;
}
