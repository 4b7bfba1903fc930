import { unreachable } from '../../core/errors.js';
import type { SourceRecord } from '../../core/manifest.js';
import type { ResolvedSource, SourceSpec } from '../model.js';

/** A verified tree together with the candidate that produced it. */
export type ChosenSource = ResolvedSource & { spec: SourceSpec };

/** What the manifest records of a source: its identity and where it was fetched from, enough to fetch it again. */
export function sourceRecord(source: ChosenSource): SourceRecord {
  const common = {
    identity: source.identity,
    version: source.version,
    ...(source.commit ? { commit: source.commit } : {}),
    ...(source.dirty !== undefined ? { dirty: source.dirty } : {}),
  };
  const spec = source.spec;
  switch (spec.kind) {
    case 'module':
      return { kind: 'module', ...common, origin: { module: spec.module, version: spec.version } };
    case 'git':
      return { kind: 'git', ...common, origin: { url: spec.url, ref: spec.ref } };
    case 'path':
      // The resolved folder: the variable may have named it relative to where make ran.
      return { kind: 'path', ...common, origin: { dir: source.dir } };
    case 'debian-source':
      return { kind: 'debian-source', ...common, origin: { package: spec.package, version: spec.version, file: spec.file } };
    default:
      return unreachable(spec);
  }
}
