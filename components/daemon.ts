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
  // moby's binary-cross builds dockerd.exe too; here it is pure Go (no Windows C cross compiler), -buildmode=exe as hack/make/.binary.
  const windows = platform.os === 'windows';
  const ldflags = [...(env.DOCKER_DEBUG ? [] : ['-w']), ...(env.DOCKER_LDFLAGS ? [env.DOCKER_LDFLAGS] : []), ...(dynamic || windows ? [] : staticLink)];
  const cgoNeeds = [
    { kind: 'command' as const, command: 'gcc', aptPackage: 'gcc', why: 'dockerd is built with cgo' },
    {
      kind: 'file' as const,
      anyOf: ['/usr/lib/x86_64-linux-gnu/libc.a', '/usr/lib/aarch64-linux-gnu/libc.a', '/usr/lib/libc.a'],
      aptPackage: 'libc6-dev',
      why: 'static linking',
    },
  ];
  return {
    name: 'daemon',
    description: 'dockerd, the Docker Engine daemon',
    costHint: 150,
    sources: goSources(env, 'DAEMON', MOBY),
    os: ['linux', 'windows'],
    needs: [{ kind: 'go' }, { kind: 'command', command: 'git', aptPackage: 'git', why: 'version stamping of local checkouts' }, ...(windows ? [] : cgoNeeds)],
    recipe: {
      kind: 'go',
      binaries: [{ package: './cmd/dockerd', output: windows ? 'dockerd.exe' : 'dockerd' }],
      cgo: !windows,
      tags,
      ldflags,
      ...(windows ? { buildmode: 'exe' as const } : dynamic ? { buildmode: 'pie' as const } : {}),
      // hack/make/.binary: DOCKER_DEBUG keeps symbols (no -w) and turns off optimisation and inlining for debuggers.
      ...(env.DOCKER_DEBUG ? { gcflags: 'all=-N -l' } : {}),
      stamp: (source: ResolvedSource, { buildTime }) => mobyVersionStamps(env, source, buildTime),
    },
  };
};

export default daemon;
