import type { ComponentDefinition, ResolvedSource } from '../builder/model.js';
import { goSources } from '../builder/pins.js';
import { MOBY, mobyVersionStamps } from './lib/moby.js';

/** dockerd, as moby's hack/make.sh `binary` (static) or `dynbinary` builds it. */
const daemon: ComponentDefinition = ({ env, dynamic, hasPkgConfig, platform }) => {
  const tags = dynamic ? ['nri_no_wasm'] : ['netgo', 'osusergo', 'static_build', 'nri_no_wasm'];
  tags.push(...(env.DOCKER_BUILDTAGS ?? '').split(/\s+/).filter(Boolean));
  if (!env.EXCLUDE_AUTO_BUILDTAG_JOURNALD && hasPkgConfig('libsystemd')) tags.push('journald');
  // GNU ld (bfd) of Debian's arm cross binutils drops the Thumb bit from the IRELATIVE entries of a binary this big (glibc's
  // memchr/memcpy resolvers), and the static dockerd dies at its first instruction under QEMU; gold links it right.
  const staticLink = platform.arch === 'arm' ? ["-extldflags '-static -fuse-ld=gold'"] : ['-extldflags -static'];
  const ldflags = [...(env.DOCKER_DEBUG ? [] : ['-w']), ...(env.DOCKER_LDFLAGS ? [env.DOCKER_LDFLAGS] : []), ...(dynamic ? [] : staticLink)];
  return {
    name: 'daemon',
    description: 'dockerd, the Docker Engine daemon',
    costHint: 150,
    sources: goSources(env, 'DAEMON', MOBY),
    needs: [
      { kind: 'go' },
      { kind: 'command', command: 'gcc', aptPackage: 'gcc', why: 'dockerd is built with cgo' },
      { kind: 'command', command: 'git', aptPackage: 'git', why: 'version stamping of local checkouts' },
      {
        kind: 'file',
        anyOf: ['/usr/lib/x86_64-linux-gnu/libc.a', '/usr/lib/aarch64-linux-gnu/libc.a', '/usr/lib/libc.a'],
        aptPackage: 'libc6-dev',
        why: 'static linking',
      },
    ],
    recipe: {
      kind: 'go',
      binaries: [{ package: './cmd/dockerd', output: 'dockerd' }],
      cgo: true,
      tags,
      ldflags,
      ...(dynamic ? { buildmode: 'pie' as const } : {}),
      // hack/make/.binary: DOCKER_DEBUG keeps symbols (no -w) and turns off optimisation and inlining for debuggers.
      ...(env.DOCKER_DEBUG ? { gcflags: 'all=-N -l' } : {}),
      stamp: (source: ResolvedSource, { buildTime }) => mobyVersionStamps(env, source, buildTime),
    },
  };
};

export default daemon;
