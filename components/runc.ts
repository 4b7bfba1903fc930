import type { ComponentDefinition } from '../builder/model.js';
import { describeTag, goSources } from '../builder/pins.js';

/** runc with seccomp, as `make static` (static PIE on amd64/arm64) or `make runc` (dynamic) build it. */
const runc: ComponentDefinition = ({ env, dynamic, platform, native }) => {
  const tags = ['seccomp', 'urfave_cli_no_docs', ...(env.RUNC_BUILDTAGS ?? '').split(/\s+/).filter(Boolean)];
  // runc's Makefile: -buildmode=pie (and -static-pie) only where GOARCH is amd64 or arm64.
  const pie = platform.arch === 'amd64' || platform.arch === 'arm64';
  const staticFlags = pie ? ['-linkmode external', '-extldflags -static-pie'] : ['-linkmode external', '-extldflags -static'];
  return {
    name: 'runc',
    description: 'runc, the OCI runtime',
    costHint: 25,
    sources: goSources(env, 'RUNC', {
      module: 'github.com/opencontainers/runc',
      repository: 'https://github.com/opencontainers/runc.git',
      release: { version: 'v1.4.3', commit: 'bb14dabeb7185bb72c8c86735d090dcb20f36587', sum: 'h1:/bq84roxG30xEICkFodXzMEVQFs7kzo4lCiZME1uKxI=' },
    }),
    needs: [
      { kind: 'go' },
      { kind: 'command', command: 'gcc', aptPackage: 'gcc', why: 'runc is built with cgo' },
      { kind: 'command', command: 'pkg-config', aptPackage: 'pkg-config', why: 'finding libseccomp' },
      native || platform.os !== 'linux'
        ? {
            kind: 'file',
            anyOf: ['/usr/lib/x86_64-linux-gnu/libseccomp.a', '/usr/lib/aarch64-linux-gnu/libseccomp.a', '/usr/lib/libseccomp.a'],
            aptPackage: 'libseccomp-dev',
            why: 'seccomp support',
          }
        : {
            kind: 'file',
            anyOf: [`/usr/lib/${platform.triplet}/libseccomp.a`],
            aptPackage: `libseccomp-dev:${platform.debianArch}`,
            why: `runc's seccomp support for ${platform.name}`,
          },
    ],
    recipe: {
      kind: 'go',
      binaries: [{ package: '.', output: 'runc' }],
      cgo: true,
      tags: dynamic ? tags : [...tags, 'netgo', 'osusergo'],
      ldflags: dynamic ? [] : staticFlags,
      ...(pie ? { buildmode: 'pie' as const } : {}),
      stamp: (source) => ({
        'main.gitCommit': source.kind === 'path' ? `${source.version}` : describeTag(source.version, source.commit),
      }),
    },
  };
};

export default runc;
