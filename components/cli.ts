import type { ComponentDefinition, ResolvedSource, StampContext } from '../build/model.js';
import { goSources, type GoModulePin } from '../build/pins.js';
import { CLIENT_BUNDLE } from '../core/bundle-layout.js';
import type { Env } from '../core/env.js';

/** docker/cli at moby's DOCKERCLI_VERSION. The repository has no go.mod, so the proxy serves it as +incompatible. */
const DOCKER_CLI: GoModulePin = {
  module: 'github.com/docker/cli',
  repository: 'https://github.com/docker/cli.git',
  release: { version: 'v29.7.1', sum: 'h1:ILZpP6B7fedIr6ANy824QkDp1WMJuouIq0O2SrBkB2w=' },
  incompatible: true,
};

/**
 * What docker/cli's own release binaries print as their build (`Docker version
 * 29.7.1, build e9452d6`). The module proxy does not report v29.7.1's commit,
 * so this short id is pinned as published rather than derived; another
 * version stamps the commit its source knows (DOCKERCLI_COMMIT, a checkout's HEAD).
 */
const RELEASE_SHORT_COMMIT = 'e9452d6';

const VERSION_PACKAGE = 'github.com/docker/cli/cli/version';

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
const cli: ComponentDefinition = ({ env }) => ({
  name: 'cli',
  description: 'docker, the command-line client',
  bundle: CLIENT_BUNDLE,
  costHint: 90,
  sources: goSources(env, 'DOCKERCLI', DOCKER_CLI),
  needs: [{ kind: 'go' }],
  recipe: {
    kind: 'go',
    binaries: [{ package: './cmd/docker', output: 'docker' }],
    cgo: false,
    tags: ['grpcnotrace'],
    ldflags: [],
    env: { GOFLAGS: '-buildvcs=false -mod=readonly' },
    inTreeCopies: { 'vendor.mod': 'go.mod', 'vendor.sum': 'go.sum' },
    stamp: (source, build) => cliStamps(env, source, build),
  },
});

/** scripts/build/.variables: VERSION from the tag without its v, the short commit, BUILDTIME in UTC seconds. */
export function cliStamps(env: Env, source: ResolvedSource, build: StampContext): Record<string, string> {
  const stamps: Record<string, string> = {
    [`${VERSION_PACKAGE}.GitCommit`]: cliGitCommit(source),
    [`${VERSION_PACKAGE}.BuildTime`]: build.sourceDate.toISOString().replace(/\.\d{3}Z$/, 'Z'),
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

function cliGitCommit(source: ResolvedSource): string {
  if (source.commit) return source.commit.slice(0, 7);
  return source.kind === 'module' && source.version === `${DOCKER_CLI.release.version}+incompatible` ? RELEASE_SHORT_COMMIT : '';
}

export default cli;
