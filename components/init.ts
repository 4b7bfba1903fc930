import { UserError } from '../core/errors.js';
import type { ComponentDefinition, DebianSourceSpec, ResolvedSource, SourceSpec, TextEdit } from '../builder/model.js';

const RELEASE = 'v0.19.0';
const COMMIT = 'de40ad007797e0dcd8b7126f27bb87401d224240';

/**
 * Debian's copy of the same release (bookworm's tini 0.19.0-1). The sha256 is
 * the Checksums-Sha256 entry for the orig tarball in tini_0.19.0-1.dsc.
 */
export const TINI_DEBIAN_SOURCE: DebianSourceSpec = {
  kind: 'debian-source',
  package: 'tini',
  version: '0.19.0-1',
  file: 'tini_0.19.0.orig.tar.gz',
  sha256: '0fd35a7030052acd9f58948d1d900fe1e432ee37103c5561554408bdac6bbf0d',
  upstreamVersion: RELEASE,
  commit: COMMIT,
};

/** Static libc, for `make tini-static`. */
const LIBC_A = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf', 'powerpc64le-linux-gnu', 's390x-linux-gnu', 'riscv64-linux-gnu']
  .map((triplet) => `/usr/lib/${triplet}/libc.a`)
  .concat('/usr/lib/libc.a');

/**
 * docker-init is tini, built as moby's tini installer builds it:
 * `cmake . && make tini-static`, installed as docker-init. dockerd reads
 * `docker-init --version` (`tini version 0.19.0 - git.de40ad0`) for
 * `docker info`'s InitCommit.
 */
const init: ComponentDefinition = ({ env }) => {
  const version = env.TINI_VERSION ?? RELEASE;
  const commit = env.TINI_COMMIT ?? (version === RELEASE ? COMMIT : undefined);
  let sources: SourceSpec[];
  if (env.TINI_SRC) {
    sources = [{ kind: 'path', dir: env.TINI_SRC }];
  } else if (!commit) {
    throw new UserError(`TINI_VERSION=${version} needs TINI_COMMIT, the full commit that tag points at`, `Only ${RELEASE} is pinned.`);
  } else {
    sources = [{ kind: 'git', url: 'https://github.com/krallin/tini.git', ref: version, commit }];
    if (version === RELEASE && commit === COMMIT) {
      sources.push(TINI_DEBIAN_SOURCE);
    }
  }
  return {
    name: 'init',
    description: 'docker-init (tini), the init process for containers started with --init',
    sources,
    costHint: 5,
    needs: [
      { kind: 'command', command: 'cmake', aptPackage: 'cmake', why: 'tini is built with cmake' },
      { kind: 'command', command: 'make', aptPackage: 'make', why: 'tini is built with make' },
      { kind: 'command', command: 'gcc', aptPackage: 'gcc', why: 'tini is a C program' },
      { kind: 'file', anyOf: LIBC_A, aptPackage: 'libc6-dev', why: 'docker-init is linked statically' },
    ],
    recipe: {
      kind: 'cmake',
      // tini asks for CMake 2.8; CMake 4 refuses that without a policy floor (older releases ignore the variable).
      configureArgs: () => ['-DCMAKE_POLICY_VERSION_MINIMUM=3.5'],
      target: 'tini-static',
      outputs: { 'tini-static': 'docker-init' },
      edits: gitIdWithoutGit,
    },
  };
};

/**
 * tini's CMakeLists takes ` - git.<short id>` from `git log` in the source
 * tree and falls back to nothing. A tarball has no .git, so the id of the
 * commit it was cut from is put where that fallback is.
 */
function gitIdWithoutGit(source: ResolvedSource): TextEdit[] {
  if (source.kind !== 'debian-source' || !source.commit) return [];
  return [{ file: 'CMakeLists.txt', find: 'set(tini_VERSION_GIT "")', replace: `set(tini_VERSION_GIT " - git.${source.commit.slice(0, 7)}")` }];
}

export default init;
