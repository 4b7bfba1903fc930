import { arch as hostArch } from 'node:process';
import { UserError } from './errors.js';

/**
 * A target as OCI and moby's docker-bake.hcl name it (`linux/arm/v7`), with
 * what a build for it needs on a Debian machine: for Linux, the GNU triplet of
 * the cross compiler and its libraries, dpkg's architecture for multiarch
 * `-dev` packages, QEMU's user-mode emulator, and the ELF header a binary for
 * it has; for Windows (pure Go only), the PE header.
 */
interface PlatformCommon {
  arch: 'amd64' | 'arm64' | 'arm' | 'ppc64le' | 's390x';
  variant?: 'v5' | 'v6' | 'v7';
  /** `linux/arm/v7`. */
  name: string;
  /** `linux-arm-v7`: the folder under bundles/cross/. */
  dir: string;
  /** Go's environment for it: GOOS, GOARCH and GOARM. */
  goEnv: Record<string, string>;
}

export interface LinuxPlatform extends PlatformCommon {
  os: 'linux';
  /** Debian's cross compiler is `<triplet>-gcc` in `gcc-<triplet>`. */
  triplet: string;
  /** dpkg's name (`armhf`), for `libseccomp-dev:armhf` and `libc6-dev-armhf-cross`. */
  debianArch: string;
  /** qemu-user-static's `qemu-<name>-static`. */
  qemu: string;
  /** moby's hack/make/.binary: the arm variants' `-march` for cgo (with Debian gcc's spelling where it differs). */
  cgoCflags?: string;
  elf: { machine: number; bits: 32 | 64; endian: 'little' | 'big' };
}

export interface WindowsPlatform extends PlatformCommon {
  os: 'windows';
  /** The PE header's Machine (IMAGE_FILE_MACHINE_AMD64 is 0x8664). */
  peMachine: number;
}

export type Platform = LinuxPlatform | WindowsPlatform;

type PlatformData = Omit<LinuxPlatform, 'name' | 'dir' | 'goEnv'> | Omit<WindowsPlatform, 'name' | 'dir' | 'goEnv'>;

// ELF e_machine values (elf.h): EM_X86_64 62, EM_AARCH64 183, EM_ARM 40, EM_PPC64 21, EM_S390 22.
const PLATFORMS: Record<string, PlatformData> = {
  'linux/amd64': {
    os: 'linux',
    arch: 'amd64',
    triplet: 'x86_64-linux-gnu',
    debianArch: 'amd64',
    qemu: 'x86_64',
    elf: { machine: 62, bits: 64, endian: 'little' },
  },
  'linux/arm64': {
    os: 'linux',
    arch: 'arm64',
    triplet: 'aarch64-linux-gnu',
    debianArch: 'arm64',
    qemu: 'aarch64',
    elf: { machine: 183, bits: 64, endian: 'little' },
  },
  'linux/arm/v7': {
    os: 'linux',
    arch: 'arm',
    variant: 'v7',
    triplet: 'arm-linux-gnueabihf',
    debianArch: 'armhf',
    qemu: 'arm',
    // moby's -march=armv7-a is for clang (xx); Debian's armhf gcc is hard-float, and without +fp it has no FPU to pass floats in.
    cgoCflags: '-march=armv7-a+fp',
    elf: { machine: 40, bits: 32, endian: 'little' },
  },
  'linux/arm/v6': {
    os: 'linux',
    arch: 'arm',
    variant: 'v6',
    triplet: 'arm-linux-gnueabi',
    debianArch: 'armel',
    qemu: 'arm',
    cgoCflags: '-march=armv6',
    elf: { machine: 40, bits: 32, endian: 'little' },
  },
  'linux/arm/v5': {
    os: 'linux',
    arch: 'arm',
    variant: 'v5',
    triplet: 'arm-linux-gnueabi',
    debianArch: 'armel',
    qemu: 'arm',
    cgoCflags: '-march=armv5t',
    elf: { machine: 40, bits: 32, endian: 'little' },
  },
  'linux/ppc64le': {
    os: 'linux',
    arch: 'ppc64le',
    triplet: 'powerpc64le-linux-gnu',
    debianArch: 'ppc64el',
    qemu: 'ppc64le',
    elf: { machine: 21, bits: 64, endian: 'little' },
  },
  'windows/amd64': { os: 'windows', arch: 'amd64', peMachine: 0x8664 },
  'linux/s390x': { os: 'linux', arch: 's390x', triplet: 's390x-linux-gnu', debianArch: 's390x', qemu: 's390x', elf: { machine: 22, bits: 64, endian: 'big' } },
};

/** moby's binary-cross list. */
export const KNOWN_PLATFORMS = Object.keys(PLATFORMS);

function platformFrom(name: string, data: PlatformData): Platform {
  const goEnv: Record<string, string> = { GOOS: data.os, GOARCH: data.arch };
  if (data.variant) goEnv.GOARM = data.variant.slice(1);
  return { ...data, name, dir: name.replaceAll('/', '-'), goEnv };
}

function linux(platform: Platform): LinuxPlatform {
  if (platform.os !== 'linux') throw new Error(`${platform.name} is not a Linux platform`);
  return platform;
}

/** The target of a C build: Debian's cross compilers are for Linux targets only. */
export function cTarget(platform: Platform, what: string): LinuxPlatform {
  if (platform.os !== 'linux') {
    throw new UserError(
      `${what} cannot be built for ${platform.name}: this machine has no C cross compiler for it`,
      'Only pure-Go components (CGO_ENABLED=0) are built for Windows.',
    );
  }
  return platform;
}

const NODE_ARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: 'linux/amd64', arm64: 'linux/arm64', ppc64: 'linux/ppc64le', s390x: 'linux/s390x' };

/** The machine this runs on. */
export function hostPlatform(): LinuxPlatform {
  const name = NODE_ARCH[hostArch];
  const data = name ? PLATFORMS[name] : undefined;
  if (!name || !data) throw new UserError(`this machine's architecture (${hostArch}) is not one moby-make builds on`, `Known: ${KNOWN_PLATFORMS.join(', ')}.`);
  return linux(platformFrom(name, data));
}

/** `linux/arm64`, `linux/arm/v7`, `arm64` (linux assumed), or `local` for the host. `linux/arm` means v7, as docker's platform matching does. */
export function parsePlatform(text: string): Platform {
  const trimmed = text.trim();
  if (trimmed === 'local') return hostPlatform();
  const withOs = trimmed.includes('/') ? trimmed : `linux/${trimmed}`;
  const name = withOs === 'linux/arm' ? 'linux/arm/v7' : withOs;
  const data = PLATFORMS[name];
  if (!data) throw new UserError(`unknown platform ${text}`, `Known platforms: ${KNOWN_PLATFORMS.join(', ')} (or local, the host).`);
  return platformFrom(name, data);
}

/** A comma- or space-separated list (MOBY_MAKE_PLATFORMS, --platform), each once, in the order given. */
export function parsePlatforms(list: string): Platform[] {
  const platforms = list
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(parsePlatform);
  if (platforms.length === 0) throw new UserError('no platform named', `Name one or more: ${KNOWN_PLATFORMS.join(', ')}, or local.`);
  return platforms.filter((platform, i) => platforms.findIndex((other) => other.name === platform.name) === i);
}

export function isHost(platform: Platform): boolean {
  return platform.name === hostPlatform().name;
}

/** pkg-config for another architecture: only that architecture's multiarch .pc folder, and the architecture-free one. */
export function crossPkgConfig(platform: LinuxPlatform): Record<string, string> {
  return { PKG_CONFIG_LIBDIR: `/usr/lib/${platform.triplet}/pkgconfig:/usr/share/pkgconfig` };
}

/** Debian's cross C compiler for the platform, and the package that has it. */
export function crossCompiler(platform: LinuxPlatform): { command: string; aptPackage: string } {
  return { command: `${platform.triplet}-gcc`, aptPackage: `gcc-${platform.triplet}` };
}
