import type { ComponentDefinition, ResolvedSource, StampContext } from '../../builder/model.js';
import { goSources, type GoModulePin } from '../../builder/pins.js';
import type { Env } from '../../core/env.js';

const VERSION_PACKAGE = 'github.com/docker/cli/cli/version';

export interface DockerCliBuild {
  name: string;
  description: string;
  bundle: string;
  /** moby's Dockerfile ARG prefix: DOCKERCLI, DOCKERCLI_INTEGRATION (…_VERSION, …_SRC, …_COMMIT). */
  variablePrefix: string;
  pin: GoModulePin;
  /**
   * What docker/cli's own release binaries print as their build (`Docker
   * version 29.7.1, build e9452d6`) when the module proxy does not report the
   * release's commit; another version stamps the commit its source knows.
   */
  releaseShortCommit?: string;
}

/**
 * The docker CLI, built as moby's dev container builds it
 * (`CGO_ENABLED=0 scripts/build/binary`): static, tag grpcnotrace, stamped
 * with -X …/cli/version.{Version,GitCommit,BuildTime,PlatformName}. The tree
 * has no go.mod: like scripts/with-go-mod.sh, vendor.mod and vendor.sum become
 * go.mod and go.sum (in a copy), and go verifies every dependency against
 * them and the checksum database. -mod=readonly makes a missing sum an error
 * instead of a silent addition; the module zip carries no vendor/ tree
 * (only vendor/modules.txt), so vendoring is not an option.
 */
export function dockerCli(build: DockerCliBuild): ComponentDefinition {
  return ({ env }) => ({
    name: build.name,
    description: build.description,
    bundle: build.bundle,
    costHint: 90,
    sources: goSources(env, build.variablePrefix, build.pin),
    needs: [{ kind: 'go' }],
    recipe: {
      kind: 'go',
      binaries: [{ package: './cmd/docker', output: 'docker' }],
      cgo: false,
      tags: ['grpcnotrace'],
      ldflags: [],
      env: { GOFLAGS: '-buildvcs=false -mod=readonly' },
      inTreeCopies: { 'vendor.mod': 'go.mod', 'vendor.sum': 'go.sum' },
      stamp: (source, context) => cliStamps(env, source, context, build),
    },
  });
}

/** scripts/build/.variables: VERSION from the tag without its v, the short commit, BUILDTIME in UTC seconds. */
export function cliStamps(
  env: Env,
  source: ResolvedSource,
  context: StampContext,
  build: Pick<DockerCliBuild, 'pin' | 'releaseShortCommit'>,
): Record<string, string> {
  const stamps: Record<string, string> = {
    [`${VERSION_PACKAGE}.GitCommit`]: cliGitCommit(source, build),
    [`${VERSION_PACKAGE}.BuildTime`]: context.sourceDate.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    [`${VERSION_PACKAGE}.Version`]: cliVersion(source),
  };
  if (env.PLATFORM) stamps[`${VERSION_PACKAGE}.PlatformName`] = env.PLATFORM;
  return stamps;
}

/** `git describe --tags --dirty='.m'` without the leading v; a module version without +incompatible. */
function cliVersion(source: ResolvedSource): string {
  return source.version
    .replace(/^v/, '')
    .replace(/\+incompatible$/, '')
    .replace(/-dirty$/, '.m');
}

function cliGitCommit(source: ResolvedSource, build: Pick<DockerCliBuild, 'pin' | 'releaseShortCommit'>): string {
  if (source.commit) return source.commit.slice(0, 7);
  const isRelease = source.kind === 'module' && source.version === `${build.pin.release.version}+incompatible`;
  return isRelease && build.releaseShortCommit ? build.releaseShortCommit : '';
}
