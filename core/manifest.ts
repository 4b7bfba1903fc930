import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const MANIFEST_FILE = 'manifest.json';

/** Where a component's tree came from; build/sources has a resolver for each. */
export const SOURCE_KINDS = ['module', 'path', 'git', 'debian-source'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export interface SourceRecord {
  kind: SourceKind;
  identity: string;
  version: string;
  commit?: string;
  dirty?: boolean;
}

export interface ComponentRecord {
  /** Digest of everything that decides the output: sources, steps, toolchain. */
  fingerprint: string;
  source: SourceRecord;
  extraSources: Record<string, SourceRecord>;
  toolchain: Record<string, string>;
  /** The exact build commands, for humans and for `docker info` cross-checks. */
  commands: string[];
  outputs: string[];
}

export interface FileRecord {
  component: string;
  sha256: string;
  md5: string;
  size: number;
}

export interface Manifest {
  schema: 1;
  components: Record<string, ComponentRecord>;
  files: Record<string, FileRecord>;
}

export function emptyManifest(): Manifest {
  return { schema: 1, components: {}, files: {} };
}

/** The manifest of a bundle folder, or an empty one when there is none yet (or it is unreadable). */
export function readManifest(bundleDir: string): Manifest {
  try {
    const parsed = JSON.parse(readFileSync(join(bundleDir, MANIFEST_FILE), 'utf8')) as Manifest;
    return parsed.schema === 1 ? parsed : emptyManifest();
  } catch {
    return emptyManifest();
  }
}

export function serializeManifest(manifest: Manifest): string {
  const sorted = <T>(record: Record<string, T>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify({ schema: 1, components: sorted(manifest.components), files: sorted(manifest.files) }, null, 2)}\n`;
}
