import { UserError, unreachable } from '../../core/errors.js';
import type { SourceRecord } from '../../core/manifest.js';
import type { ResolvedSource, SourceSpec } from '../model.js';
import { resolveOne } from '../sources/index.js';
import type { ResolveContext } from '../sources/resolver.js';

/**
 * Fetches a recorded source by its identity with the same resolvers, and so
 * the same verification, as make (go.sum and the checksum database, the
 * pinned commit, the tarball's sha256), then requires the identity found to
 * be the recorded one.
 */
export async function fetchRecorded(owner: string, record: SourceRecord, context: ResolveContext): Promise<ResolvedSource> {
  const fetched = await resolveOne(specOf(owner, record), context);
  if (fetched.identity !== record.identity) throw identityMismatch(owner, record, fetched);
  return fetched;
}

/** The source spec that fetches exactly what the record names; the recorded digest becomes the pin. */
export function specOf(owner: string, record: SourceRecord): SourceSpec {
  const commit = record.commit ? { commit: record.commit } : {};
  switch (record.kind) {
    case 'module': {
      const prefix = `${record.origin.module}@${record.origin.version} `;
      const sum = record.identity.startsWith(prefix) ? record.identity.slice(prefix.length) : '';
      if (!sum.startsWith('h1:')) throw new UserError(`${owner}: the recorded identity '${record.identity}' is not ${prefix}<h1: sum>`);
      return { kind: 'module', module: record.origin.module, version: record.origin.version, sum, ...commit };
    }
    case 'git':
      if (!record.commit) throw new UserError(`${owner}: the git source ${record.origin.url} has no recorded commit`);
      return { kind: 'git', url: record.origin.url, ref: record.origin.ref, commit: record.commit };
    case 'path':
      return { kind: 'path', dir: record.origin.dir };
    case 'debian-source':
      return {
        kind: 'debian-source',
        package: record.origin.package,
        version: record.origin.version,
        file: record.origin.file,
        sha256: record.identity.replace(/^sha256:/, ''),
        upstreamVersion: record.version,
        ...commit,
      };
    default:
      return unreachable(record);
  }
}

function identityMismatch(owner: string, record: SourceRecord, fetched: ResolvedSource): UserError {
  if (record.kind === 'path') {
    return new UserError(
      `${owner}: the checkout ${record.origin.dir} is now ${fetched.identity}, but the bundle was built from ${record.identity}`,
      'Check out the recorded commit (with the same uncommitted changes) to rebuild from it.',
    );
  }
  return new UserError(`${owner}: fetched ${fetched.identity}, but the manifest records ${record.identity}`);
}
