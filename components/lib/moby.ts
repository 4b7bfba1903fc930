import { UserError } from '../../core/errors.js';
import type { ResolvedSource } from '../../builder/model.js';
import type { GoModulePin } from '../../builder/pins.js';
import type { Env } from '../../core/env.js';

/** The moby module: dockerd, docker-proxy and the rootless scripts all come from it (DAEMON_VERSION, DAEMON_SRC, ...). */
export const MOBY: GoModulePin = {
  module: 'github.com/moby/moby/v2',
  repository: 'https://github.com/moby/moby.git',
  release: { version: 'v2.0.0-beta.21', commit: 'c5b8ce9274b5c00cb1f8287c8e258edc1f01176d', sum: 'h1:LrUr8ocwGt3nOdPRKmLMKRRPqYqKJP4VbZxT2vZwscs=' },
};

/** hack/make.sh's VERSION: default `dev`, with git ref prefixes stripped. */
export function mobyVersion(raw: string | undefined): string {
  const version = raw || 'dev';
  const tag = /^refs\/tags\/(?:docker-v|v)?(.*)$/.exec(version);
  if (tag) return tag[1] ?? version;
  if (version.startsWith('refs/heads/')) return version.slice('refs/heads/'.length).replace(/\/+/g, '-');
  const pull = /^refs\/pull\/(\d+)/.exec(version);
  return pull ? `pr-${pull[1]}` : version;
}

/** hack/make.sh's GITCOMMIT: DOCKER_GITCOMMIT, else HEAD with -unsupported for a dirty tree. */
export function mobyGitCommit(env: Env, source: ResolvedSource): string {
  if (env.DOCKER_GITCOMMIT) return env.DOCKER_GITCOMMIT;
  if (!source.commit) {
    throw new UserError(
      `cannot tell which commit ${source.dir} is: it has no .git and DOCKER_GITCOMMIT is not set`,
      "Set DOCKER_GITCOMMIT to the exact commit you are building, as moby's hack/make.sh asks.",
    );
  }
  return source.dirty ? `${source.commit}-unsupported` : source.commit;
}

/** The -X stamps of hack/make/.go-autogen. */
export function mobyVersionStamps(env: Env, source: ResolvedSource, buildTime: string): Record<string, string> {
  const pkg = 'github.com/moby/moby/v2/dockerversion';
  return {
    [`${pkg}.Version`]: mobyVersion(env.VERSION),
    [`${pkg}.GitCommit`]: mobyGitCommit(env, source),
    [`${pkg}.BuildTime`]: buildTime,
    [`${pkg}.PlatformName`]: env.PLATFORM ?? '',
    [`${pkg}.ProductName`]: env.PRODUCT ?? '',
    [`${pkg}.DefaultProductLicense`]: env.DEFAULT_PRODUCT_LICENSE ?? '',
  };
}
