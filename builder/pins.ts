import type { ComponentContext, GitSourceSpec, ModuleSourceSpec, SourceSpec } from './model.js';

/** A Go module and the release of it this project builds by default. */
export interface GoModulePin {
  module: string;
  repository: string;
  /** The commit, when known: without it there is no git candidate (its ref could not be checked). */
  release: { version: string; commit?: string; sum: string };
  /**
   * A repository tagged v2 or later without a go.mod (docker/cli): the proxy
   * serves tag vX.Y.Z as module version vX.Y.Z+incompatible.
   */
  incompatible?: boolean;
}

/**
 * A Go component's usual candidates: the module through the module proxy,
 * then its upstream repository at the same tag. The environment overrides
 * them the way moby's Dockerfile ARGs do, under one prefix: `<P>_VERSION`
 * picks another version (its commit, needed for git, from `<P>_COMMIT`), and
 * `<P>_SRC` replaces every candidate with a local checkout.
 */
export function goSources(env: ComponentContext['env'], prefix: string, pin: GoModulePin): SourceSpec[] {
  const localPath = env[`${prefix}_SRC`];
  if (localPath) return [{ kind: 'path', dir: localPath }];
  const version = (env[`${prefix}_VERSION`] ?? pin.release.version).replace(/\+incompatible$/, '');
  const isRelease = version === pin.release.version;
  const commit = env[`${prefix}_COMMIT`] ?? (isRelease ? pin.release.commit : undefined);
  const module: ModuleSourceSpec = {
    kind: 'module',
    module: pin.module,
    version: pin.incompatible ? `${version}+incompatible` : version,
    ...(commit ? { commit } : {}),
    ...(isRelease ? { sum: pin.release.sum } : {}),
  };
  if (!commit) return [module];
  const git: GitSourceSpec = { kind: 'git', url: pin.repository, ref: version, commit };
  return [module, git];
}

/** `git describe --long` for a release tag: what runc's Makefile stamps. */
export function describeTag(tag: string, commit: string | undefined): string {
  return commit ? `${tag}-0-g${commit.slice(0, 9)}` : tag;
}
