import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { componentContext, loadComponents } from '../../builder/components.js';
import { cmakeSteps } from '../../builder/recipes/cmake.js';
import { goSteps } from '../../builder/recipes/go.js';
import type { ComponentSpec, GoRecipe, ResolvedSource } from '../../builder/model.js';
import { crossRequirements } from '../../builder/toolchain.js';
import { parseElf, parsePe, readElf } from '../../core/elf.js';
import { UserError } from '../../core/errors.js';
import { hostPlatform, parsePlatform, parsePlatforms, type LinuxPlatform } from '../../core/platform.js';
import { aptCandidate, ensureRequirements } from '../../core/requirements.js';
import { elfMismatch } from '../../cross/smoke.js';
import { projectRoot } from '../../tasks/paths.js';

function linuxPlatform(name: string): LinuxPlatform {
  const platform = parsePlatform(name);
  if (platform.os !== 'linux') throw new Error(`${name} is not Linux`);
  return platform;
}

const source: ResolvedSource = { kind: 'module', dir: '/src', identity: 'example.com/m@v1.0.0 h1:x', version: 'v1.0.0' };
const stamp = { buildTime: '2024-01-01T00:00:00.000000000+00:00', sourceDate: new Date(0) };
const cgoRecipe: GoRecipe = { kind: 'go', binaries: [{ package: '.', output: 'tool' }], cgo: true, tags: [], ldflags: [], stamp: () => ({}) };

/** An ELF header with one program header, as a linker lays them out (header, then the table right after it). */
function elfHeader(options: { bits: 32 | 64; endian: 'little' | 'big'; machine: number; programType: number }): Buffer {
  const { bits, endian } = options;
  const headerSize = bits === 64 ? 64 : 52;
  const entrySize = bits === 64 ? 56 : 32;
  const buffer = Buffer.alloc(headerSize + entrySize);
  buffer.writeUInt32BE(0x7f454c46, 0);
  buffer[4] = bits === 64 ? 2 : 1;
  buffer[5] = endian === 'little' ? 1 : 2;
  const u16 = (value: number, at: number) => (endian === 'little' ? buffer.writeUInt16LE(value, at) : buffer.writeUInt16BE(value, at));
  const u32 = (value: number, at: number) => (endian === 'little' ? buffer.writeUInt32LE(value, at) : buffer.writeUInt32BE(value, at));
  u16(options.machine, 18);
  if (bits === 64) {
    if (endian === 'little') buffer.writeBigUInt64LE(BigInt(headerSize), 32);
    else buffer.writeBigUInt64BE(BigInt(headerSize), 32);
  } else u32(headerSize, 28);
  u16(entrySize, bits === 64 ? 54 : 42);
  u16(1, bits === 64 ? 56 : 44);
  u32(options.programType, headerSize);
  return buffer;
}

describe('platforms', () => {
  it('reads OCI platform names, with linux assumed and linux/arm meaning v7', () => {
    expect(parsePlatform('linux/arm/v7')).toMatchObject({
      dir: 'linux-arm-v7',
      triplet: 'arm-linux-gnueabihf',
      debianArch: 'armhf',
      goEnv: { GOOS: 'linux', GOARCH: 'arm', GOARM: '7' },
      cgoCflags: '-march=armv7-a+fp',
    });
    expect(parsePlatform('arm64').name).toBe('linux/arm64');
    expect(parsePlatform('linux/arm').name).toBe('linux/arm/v7');
    expect(parsePlatform('local').name).toBe(hostPlatform().name);
    expect(parsePlatforms('linux/arm64, linux/s390x linux/arm64').map((p) => p.name)).toEqual(['linux/arm64', 'linux/s390x']);
  });

  it('knows windows/amd64, for pure Go only', async () => {
    const windows = parsePlatform('windows/amd64');
    expect(windows).toMatchObject({ os: 'windows', dir: 'windows-amd64', goEnv: { GOOS: 'windows', GOARCH: 'amd64' }, peMachine: 0x8664 });
    expect(() => goSteps(cgoRecipe, source, stamp, windows)).toThrow(/cgo cannot be built for windows\/amd64/);
    const specs = await loadComponents(join(projectRoot, 'components'), componentContext({}, false, windows));
    expect(specs.map((spec) => spec.name)).toEqual(['daemon']);
    expect(specs[0]?.recipe).toMatchObject({ binaries: [{ output: 'dockerd.exe' }], cgo: false, buildmode: 'exe', ldflags: ['-w'] });
  });

  it('refuses a platform it does not know, naming the ones it does', () => {
    expect(() => parsePlatform('linux/mips')).toThrow(UserError);
    expect(() => parsePlatform('linux/mips')).toThrow(/unknown platform linux\/mips/);
    expect(() => parsePlatforms(' , ')).toThrow(/no platform named/);
  });
});

describe('cross steps', () => {
  it("give go the target and, for cgo, Debian's cross compiler, the target's pkg-config folder and moby's -march", () => {
    const [step] = goSteps(cgoRecipe, source, stamp, parsePlatform('linux/arm/v7'));
    expect(step).toMatchObject({
      kind: 'exec',
      env: {
        CGO_ENABLED: '1',
        GOOS: 'linux',
        GOARCH: 'arm',
        GOARM: '7',
        CC: 'arm-linux-gnueabihf-gcc',
        CGO_CFLAGS: '-march=armv7-a+fp',
        PKG_CONFIG_LIBDIR: '/usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig',
      },
    });
    const [pure] = goSteps({ ...cgoRecipe, cgo: false }, source, stamp, parsePlatform('linux/s390x'));
    expect(pure?.kind === 'exec' && pure.env).toEqual({ CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false', GOOS: 'linux', GOARCH: 's390x' });
    const [native] = goSteps(cgoRecipe, source, stamp);
    expect(native?.kind === 'exec' && Object.keys(native.env)).toEqual(['CGO_ENABLED', 'GOTOOLCHAIN', 'GOFLAGS']);
  });

  it('give cmake the cross compiler', () => {
    const steps = cmakeSteps({ kind: 'cmake', configureArgs: () => [], target: 'all', outputs: { a: 'a' } }, source, parsePlatform('linux/arm64'));
    expect(steps.find((step) => step.kind === 'exec')).toMatchObject({ env: { CC: 'aarch64-linux-gnu-gcc' } });
  });

  it('need the cross compiler and static libc for C, and nothing more for pure Go', async () => {
    const arm64 = parsePlatform('linux/arm64');
    const specs = await loadComponents(join(projectRoot, 'components'), { ...componentContext({}, false, arm64), hasPkgConfig: () => false });
    const byName = (name: string) => specs.find((spec) => spec.name === name) as ComponentSpec;
    expect(crossRequirements(byName('daemon'), arm64).map((r) => r.kind !== 'go' && r.aptPackage)).toEqual(['gcc-aarch64-linux-gnu', 'libc6-dev-arm64-cross']);
    expect(crossRequirements(byName('proxy'), arm64)).toEqual([]);
    expect(byName('runc').needs).toContainEqual(
      expect.objectContaining({ aptPackage: 'libseccomp-dev:arm64', anyOf: ['/usr/lib/aarch64-linux-gnu/libseccomp.a'] }),
    );
  });

  it('build runc as its Makefile does: PIE only on amd64 and arm64', async () => {
    const runcFor = async (platform: string) => {
      const specs = await loadComponents(join(projectRoot, 'components'), {
        ...componentContext({}, false, parsePlatform(platform)),
        hasPkgConfig: () => false,
      });
      return specs.find((spec) => spec.name === 'runc')?.recipe as GoRecipe;
    };
    expect(await runcFor('linux/arm64')).toMatchObject({ buildmode: 'pie', ldflags: ['-linkmode external', '-extldflags -static-pie'] });
    const ppc = await runcFor('linux/ppc64le');
    expect(ppc.buildmode).toBeUndefined();
    expect(ppc.ldflags).toEqual(['-linkmode external', '-extldflags -static']);
  });
});

describe('ELF checks', () => {
  it('read machine, class, byte order and the interpreter from the header', () => {
    const s390x = parseElf(elfHeader({ bits: 64, endian: 'big', machine: 22, programType: 1 }));
    expect(s390x).toEqual({ bits: 64, endian: 'big', machine: 22, static: true });
    expect(elfMismatch(s390x!, linuxPlatform('linux/s390x'))).toBeUndefined();
    const dynamicArm = parseElf(elfHeader({ bits: 32, endian: 'little', machine: 40, programType: 3 }));
    expect(dynamicArm).toEqual({ bits: 32, endian: 'little', machine: 40, static: false });
    expect(elfMismatch(dynamicArm!, linuxPlatform('linux/arm/v7'))).toMatch(/dynamically linked/);
    expect(elfMismatch(dynamicArm!, linuxPlatform('linux/arm/v7'), false)).toBeUndefined();
    expect(elfMismatch(dynamicArm!, linuxPlatform('linux/arm64'))).toMatch(/^is ELF 32-bit LSB, machine 40, dynamic, not linux\/arm64/);
    expect(parseElf(Buffer.from('#!/bin/sh\necho not elf\n'.padEnd(64)))).toBeUndefined();
  });

  it("read a PE header's machine and optional-header kind", () => {
    const pe = Buffer.alloc(0x100);
    pe.write('MZ', 0, 'latin1');
    pe.writeUInt32LE(0x80, 0x3c);
    pe.writeUInt32BE(0x50450000, 0x80);
    pe.writeUInt16LE(0x8664, 0x84);
    pe.writeUInt16LE(0x20b, 0x80 + 24);
    expect(parsePe(pe)).toEqual({ machine: 0x8664, pe32plus: true });
    pe.writeUInt16LE(0x10b, 0x80 + 24);
    expect(parsePe(pe)).toEqual({ machine: 0x8664, pe32plus: false });
    expect(parsePe(elfHeader({ bits: 64, endian: 'little', machine: 62, programType: 1 }))).toBeUndefined();
  });

  it("find Go's own static binary static, and node dynamic", async () => {
    const host = hostPlatform();
    const go = join(execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim(), 'bin', 'go');
    expect(elfMismatch((await readElf(go))!, host)).toBeUndefined();
    expect(await readElf(process.execPath)).toMatchObject({ machine: host.elf.machine, bits: 64, static: false });
  });
});

describe('apt for other architectures', () => {
  it('says when a package is in no apt source', async () => {
    expect(await aptCandidate('gcc-no-such-cross-compiler-linux-gnu', {})).toBeUndefined();
    expect(await aptCandidate('gcc', {})).toMatch(/\d/);
  });

  it('asks for --allow-multiarch before dpkg gains an architecture, and prints the whole command', async () => {
    const requirement = { kind: 'file' as const, anyOf: ['/nonexistent/libseccomp.a'], aptPackage: 'libseccomp-dev:mips64el', why: 'a test' };
    const policy = { allowed: true, allowMultiarch: false, env: {}, onInstall: () => undefined };
    const refused = ensureRequirements([requirement], policy);
    await expect(refused).rejects.toThrow(/libseccomp-dev:mips64el need Debian multiarch: dpkg has no mips64el architecture yet/);
    await expect(ensureRequirements([requirement], policy)).rejects.toMatchObject({
      hint: expect.stringContaining('dpkg --add-architecture mips64el && apt-get update && apt-get install -y --no-install-recommends libseccomp-dev:mips64el'),
    });
  });
});
