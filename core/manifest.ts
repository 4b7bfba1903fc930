import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from './errors.js';

/**
 * The bundle's manifest: what was built, from which verified source, with
 * which toolchain and commands, and every file's digests. It is the contract
 * between the build (which writes it) and everything that runs a bundle
 * (which trusts nothing it does not say), so it is validated on every read.
 */
export const MANIFEST_FILE = 'manifest.json';

/** Where a component's tree came from; build/sources has a resolver for each. */
export const SOURCE_KINDS = ['module', 'path', 'git', 'debian-source'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

const sourceRecordSchema = z.object({
  kind: z.enum(SOURCE_KINDS),
  identity: z.string(),
  version: z.string(),
  commit: z.string().optional(),
  dirty: z.boolean().optional(),
});

const componentRecordSchema = z.object({
  /** Digest of everything that decides the output: sources, steps, toolchain. */
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  source: sourceRecordSchema,
  extraSources: z.record(z.string(), sourceRecordSchema),
  toolchain: z.record(z.string(), z.string()),
  /** The exact build commands, for humans and for `docker info` cross-checks. */
  commands: z.array(z.string()),
  outputs: z.array(z.string()),
});

const fileRecordSchema = z.object({
  component: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  md5: z.string().regex(/^[0-9a-f]{32}$/),
  size: z.number().int().nonnegative(),
});

const manifestSchema = z.object({
  schema: z.literal(1),
  components: z.record(z.string(), componentRecordSchema),
  files: z.record(z.string(), fileRecordSchema),
});

export type SourceRecord = z.infer<typeof sourceRecordSchema>;
export type ComponentRecord = z.infer<typeof componentRecordSchema>;
export type FileRecord = z.infer<typeof fileRecordSchema>;
export type Manifest = z.infer<typeof manifestSchema>;

export function emptyManifest(): Manifest {
  return { schema: 1, components: {}, files: {} };
}

/** A manifest that exists but cannot be trusted: not JSON, or not the shape this version writes. */
export class ManifestError extends UserError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file} is not a valid bundle manifest: ${reason}`, 'Rebuild the bundle with: npm run make');
    this.name = 'ManifestError';
  }
}

/**
 * The manifest of a bundle folder; an empty one when there is none yet.
 * A file that is there but unreadable, corrupted or hand-edited into another
 * shape is an error that names it and the fix.
 */
export function readManifest(bundleDir: string): Manifest {
  const file = join(bundleDir, MANIFEST_FILE);
  if (!existsSync(file)) return emptyManifest();
  return parseManifest(file, readFileSync(file, 'utf8'));
}

export function parseManifest(file: string, text: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(file, error instanceof Error ? error.message : String(error));
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ManifestError(file, issue ? `${issue.path.join('.') || '(top level)'}: ${issue.message}` : 'unexpected shape');
  }
  return parsed.data;
}

export function serializeManifest(manifest: Manifest): string {
  const sorted = <T>(record: Record<string, T>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify({ schema: 1, components: sorted(manifest.components), files: sorted(manifest.files) }, null, 2)}\n`;
}
