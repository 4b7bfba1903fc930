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

/** Bump when the recorded form changes; an older manifest reads as "rebuild" (make) or "cannot be replayed" (verify-bundle). */
export const MANIFEST_SCHEMA = 2;

const identityFields = {
  /** What was verified: `<module>@<version> <h1: sum>`, `git <commit>` (plus ` dirty <sha256>` for a changed checkout), `tree <sha256>`, `sha256:<tarball>`. */
  identity: z.string(),
  version: z.string(),
  commit: z.string().optional(),
  dirty: z.boolean().optional(),
};

/** Each kind also records where it was fetched from, so the bundle can be rebuilt from the manifest alone. */
const sourceRecordSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('module'), ...identityFields, origin: z.object({ module: z.string(), version: z.string() }) }),
  z.object({ kind: z.literal('git'), ...identityFields, origin: z.object({ url: z.string(), ref: z.string() }) }),
  z.object({ kind: z.literal('path'), ...identityFields, origin: z.object({ dir: z.string() }) }),
  z.object({ kind: z.literal('debian-source'), ...identityFields, origin: z.object({ package: z.string(), version: z.string(), file: z.string() }) }),
]);

/** A kind added to SOURCE_KINDS without a record shape above is a compile error here. */
export const RECORDED_SOURCE_KINDS: readonly SourceRecord['kind'][] = SOURCE_KINDS;

/**
 * Written into every manifest so that it explains itself to someone holding
 * only the bundle: how to replay `components.*.commands`.
 */
export const REPLAY_NOTE = {
  commands:
    "Per component, run each command with `sh -c`, in order, in a fresh folder, after replacing the placeholders; stop at the first that fails. Each command is exact POSIX shell (arguments and environment quoted); the caller's environment is inherited.",
  placeholders: {
    '@SRC@': "the component's source tree (components.<name>.source), fetched and verified by its identity; read-only",
    '@SRC:<extra>@': 'the tree of components.<name>.extraSources.<extra>; read-only',
    '@WORK@': 'an empty scratch folder of the component',
    '@OUT@': "an empty folder that receives the component's outputs, whose sha256 are under files",
  },
  paths:
    'Replace each placeholder with an absolute path made only of letters, digits and _ @ % + = : , . / - (such a path needs no quoting, in or out of quotes).',
  toolchain:
    'components.<name>.toolchain holds the first line of `go env GOVERSION`, `cc --version` and `cmake --version`; a different toolchain need not give the same bytes.',
} as const;

const replayNoteSchema = z.object({
  commands: z.string(),
  placeholders: z.record(z.string(), z.string()),
  paths: z.string(),
  toolchain: z.string(),
});

export const componentRecordSchema = z.object({
  /** Digest of everything that decides the output: sources, steps, toolchain. */
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  source: sourceRecordSchema,
  extraSources: z.record(z.string(), sourceRecordSchema),
  toolchain: z.record(z.string(), z.string()),
  /** The build as exact `sh -c` commands with placeholders (see REPLAY_NOTE); `npm run verify-bundle` replays them. */
  commands: z.array(z.string()),
  outputs: z.array(z.string()),
  /** `<registry>/<repo>@sha256:…` when the outputs came from the shared cache instead of this machine's compiler. */
  fromCache: z.string().optional(),
  /** The target of a cross build (`linux/arm64`); absent when the binaries are for the machine that built them. */
  platform: z.string().optional(),
});

export const fileRecordSchema = z.object({
  component: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  md5: z.string().regex(/^[0-9a-f]{32}$/),
  size: z.number().int().nonnegative(),
});

const manifestSchema = z.object({
  schema: z.literal(MANIFEST_SCHEMA),
  replay: replayNoteSchema,
  components: z.record(z.string(), componentRecordSchema),
  files: z.record(z.string(), fileRecordSchema),
});

export type SourceRecord = z.infer<typeof sourceRecordSchema>;
export type ComponentRecord = z.infer<typeof componentRecordSchema>;
export type FileRecord = z.infer<typeof fileRecordSchema>;
export type Manifest = z.infer<typeof manifestSchema>;

export function emptyManifest(): Manifest {
  return { schema: MANIFEST_SCHEMA, replay: REPLAY_NOTE, components: {}, files: {} };
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
  const older = olderSchema(json);
  if (older !== undefined) {
    throw new ManifestError(
      file,
      `it was written by an older moby-make (schema ${older}, this one writes ${MANIFEST_SCHEMA}) and its commands cannot be replayed`,
    );
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ManifestError(file, issue ? `${issue.path.join('.') || '(top level)'}: ${issue.message}` : 'unexpected shape');
  }
  return parsed.data;
}

function olderSchema(json: unknown): number | undefined {
  if (typeof json !== 'object' || json === null || !('schema' in json)) return undefined;
  const schema = json.schema;
  return typeof schema === 'number' && Number.isInteger(schema) && schema < MANIFEST_SCHEMA ? schema : undefined;
}

export function serializeManifest(manifest: Manifest): string {
  const sorted = <T>(record: Record<string, T>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify({ schema: MANIFEST_SCHEMA, replay: REPLAY_NOTE, components: sorted(manifest.components), files: sorted(manifest.files) }, null, 2)}\n`;
}
