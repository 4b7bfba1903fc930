import type { Manifest, SourceRecord } from '../core/manifest.js';

/**
 * `GET /info` is how dockerd says which runc, containerd and docker-init it
 * actually found; comparing those with the manifest proves the daemon runs the
 * bundle's pieces and not copies installed elsewhere on PATH.
 *
 * What dockerd reports, per piece:
 *   runc       `runc --version`'s "commit:" line: `v1.4.3-0-gbb14dabeb` (git describe)
 *   containerd the Revision containerd's version API returns: the full commit
 *   init       the git id in `docker-init --version`: `tini version 0.19.0 - git.de40ad0`
 */
export const REPORTED_PIECES = [
  { piece: 'runc', file: 'runc', infoKey: 'RuncCommit' },
  { piece: 'containerd', file: 'containerd', infoKey: 'ContainerdCommit' },
  { piece: 'docker-init', file: 'docker-init', infoKey: 'InitCommit' },
] as const;

export interface InfoCommits {
  RuncCommit?: { ID?: string };
  ContainerdCommit?: { ID?: string };
  InitCommit?: { ID?: string };
}

export interface Mismatch {
  piece: string;
  reported: string;
  expected: string;
}

/** The source record of the component that produced a bundle file. */
export function sourceOfFile(manifest: Manifest, file: string): SourceRecord | undefined {
  const component = manifest.files[file]?.component;
  return component ? manifest.components[component]?.source : undefined;
}

/**
 * Whether a reported id names the recorded source: a hex id or describe
 * suffix (`-g<hex>`) that prefixes the full commit, ignoring the dirty marks
 * builds append (`-dirty`, `.m`, `-unsupported`). Without a recorded commit
 * the version string is all there is to compare.
 */
export function commitMatches(reported: string, source: SourceRecord): boolean {
  const clean = reported.trim().replace(/(-dirty|\.m|-unsupported)$/, '');
  if (!source.commit) return clean !== '' && (clean === source.version || clean.startsWith(`${source.version}-`));
  const described = /-g([0-9a-f]{7,40})$/.exec(clean)?.[1];
  const hex = described ?? (/^[0-9a-f]{7,40}$/.test(clean) ? clean : undefined);
  return hex !== undefined && source.commit.toLowerCase().startsWith(hex);
}

/** Every piece whose reported commit is not the manifest's; empty when the daemon runs the bundle. */
export function foreignPieces(info: InfoCommits, manifest: Manifest): Mismatch[] {
  const mismatches: Mismatch[] = [];
  for (const { piece, file, infoKey } of REPORTED_PIECES) {
    const source = sourceOfFile(manifest, file);
    const reported = info[infoKey]?.ID ?? '';
    const expected = source ? (source.commit ?? source.version) : '(not in the manifest)';
    if (!source || !commitMatches(reported, source)) mismatches.push({ piece, reported: reported || '(nothing)', expected });
  }
  return mismatches;
}
