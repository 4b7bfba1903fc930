import type { Writable } from 'node:stream';
import type { ResolvedSource, SourceSpec } from '../model.js';
import type { Env } from '../../core/env.js';

export interface ResolveContext {
  /** Persistent download cache shared by every run (not inside bundles/). */
  cacheDir: string;
  /** Scratch space for this run, removed afterwards. */
  workDir: string;
  log: Writable;
  signal: AbortSignal;
  env: Env;
  /**
   * Resolutions already made in this run, by candidate: components sharing a
   * tree (dockerd, docker-proxy and the rootless scripts all come from moby)
   * resolve it once, which in the watch loop saves a git status and diff per component.
   */
  resolved?: Map<string, Promise<ResolvedSource>>;
}

export type Resolver<S extends SourceSpec> = (spec: S, context: ResolveContext) => Promise<ResolvedSource>;

/** One line naming a source for messages and logs. */
export function describeSource(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'module':
      return `module ${spec.module}@${spec.version}`;
    case 'path':
      return `path ${spec.dir}`;
    case 'git':
      return `git ${spec.url} ${spec.ref} (${spec.commit.slice(0, 12)})`;
    case 'debian-source':
      return `debian-source ${spec.package} ${spec.version} ${spec.file}`;
  }
}
