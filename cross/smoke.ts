import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readElf, readPe, type ElfFacts } from '../core/elf.js';
import type { Env } from '../core/env.js';
import type { LinuxPlatform, Platform, WindowsPlatform } from '../core/platform.js';
import { run } from '../core/process.js';
import { ensureRequirements, type InstallPolicy } from '../core/requirements.js';

/**
 * moby's binary-smoketest, for every file a cross bundle holds: the ELF
 * header read here (machine, class, byte order, no interpreter: static),
 * and each binary's `--version` run under QEMU's user-mode emulator, which
 * must print what the same binary of this machine's bundle prints.
 */
export interface SmokeOptions {
  platform: Platform;
  /** The cross bundles' folders (binary-daemon, binary-client), and the host's of the same names. */
  bundles: ReadonlyArray<{ cross: string; host: string }>;
  env: Env;
  /** moby's binary-cross is static; a --dynamic build's binaries have an interpreter, and QEMU is told where the target's libraries are. */
  dynamic: boolean;
  install: InstallPolicy;
  onEvent: (event: SmokeEvent) => void;
}

/** `ran`: the binaries' --version ran under QEMU (Linux targets), rather than only their headers read (Windows). */
export interface SmokeResult {
  checked: number;
  failed: number;
  ran: boolean;
}

export type SmokeEvent =
  | { type: 'smoke-checked'; platform: string; file: string; elf: string; version?: string }
  | { type: 'smoke-failed'; platform: string; file: string; reason: string };

/** The binaries whose `--version` binary-smoketest and moby's CI run; every other ELF file gets the header check alone. */
const VERSIONED = new Set(['dockerd', 'docker-proxy', 'containerd', 'runc', 'docker-init', 'docker']);

export async function smokeTest(options: SmokeOptions): Promise<SmokeResult> {
  const { platform } = options;
  return platform.os === 'linux' ? smokeLinux(platform, options) : checkWindows(platform, options);
}

/** No Windows to run them on: the PE header of each .exe is what can be proven here. */
async function checkWindows(platform: WindowsPlatform, options: SmokeOptions): Promise<SmokeResult> {
  let checked = 0;
  let failed = 0;
  for (const { cross } of options.bundles) {
    if (!existsSync(cross)) continue;
    for (const file of readdirSync(cross).sort()) {
      if (!file.endsWith('.exe')) continue;
      checked += 1;
      const pe = await readPe(join(cross, file));
      if (!pe || !pe.pe32plus || pe.machine !== platform.peMachine) {
        failed += 1;
        const found = pe ? `PE machine 0x${pe.machine.toString(16)}${pe.pe32plus ? ', PE32+' : ', PE32'}` : 'not a PE executable';
        options.onEvent({
          type: 'smoke-failed',
          platform: platform.name,
          file,
          reason: `is ${found}, not ${platform.name} (PE32+, machine 0x${platform.peMachine.toString(16)})`,
        });
      } else {
        options.onEvent({ type: 'smoke-checked', platform: platform.name, file, elf: 'PE32+ x86-64 (not run: no Windows here)' });
      }
    }
  }
  return { checked, failed, ran: false };
}

async function smokeLinux(platform: LinuxPlatform, options: SmokeOptions): Promise<SmokeResult> {
  const { onEvent } = options;
  const qemu = `qemu-${platform.qemu}-static`;
  await ensureRequirements(
    [{ kind: 'command', command: qemu, aptPackage: 'qemu-user-static', why: `running ${platform.name} binaries here` }],
    options.install,
  );
  let checked = 0;
  let failed = 0;
  for (const { cross, host } of options.bundles) {
    if (!existsSync(cross)) continue;
    for (const file of readdirSync(cross).sort()) {
      const path = join(cross, file);
      const elf = await readElf(path);
      if (!elf) continue;
      checked += 1;
      const fail = (reason: string) => {
        failed += 1;
        onEvent({ type: 'smoke-failed', platform: platform.name, file, reason });
      };
      const wrong = elfMismatch(elf, platform, !options.dynamic);
      if (wrong) {
        fail(wrong);
        continue;
      }
      if (!VERSIONED.has(file)) {
        onEvent({ type: 'smoke-checked', platform: platform.name, file, elf: describeElf(elf) });
        continue;
      }
      // A dynamic binary's loader and libraries are the target's multiarch ones (qemu -L): Debian's cross packages put them in /usr/<triplet>.
      const emulated = await run([qemu, ...(options.dynamic ? ['-L', `/usr/${platform.triplet}`] : []), path, '--version'], { env: options.env });
      if (emulated.exitCode !== 0) {
        fail(`\`${file} --version\` under ${qemu} exited with ${emulated.exitCode}: ${emulated.stderr.trim().split('\n').pop() ?? ''}`);
        continue;
      }
      const version = emulated.stdout.trim();
      const hostFile = join(host, file);
      if (!existsSync(hostFile)) {
        fail(`cannot be compared: this machine's bundle has no ${file} (build it first: npm run make)`);
        continue;
      }
      const native = (await run([hostFile, '--version'], { env: options.env })).stdout.trim();
      if (native !== version) {
        fail(`prints ${JSON.stringify(version)} where this machine's bundle prints ${JSON.stringify(native)}`);
        continue;
      }
      onEvent({ type: 'smoke-checked', platform: platform.name, file, elf: describeElf(elf), version });
    }
  }
  return { checked, failed, ran: true };
}

/** What `file` would say is wrong, or undefined when the header is the platform's and the binary static. */
export function elfMismatch(elf: ElfFacts, platform: LinuxPlatform, expectStatic = true): string | undefined {
  const want = platform.elf;
  if (elf.machine !== want.machine || elf.bits !== want.bits || elf.endian !== want.endian) {
    return `is ${describeElf(elf)}, not ${platform.name} (ELF machine ${want.machine}, ${want.bits}-bit ${want.endian}-endian)`;
  }
  if (expectStatic && !elf.static) return 'is dynamically linked (it has an ELF interpreter): moby ships these static';
  return undefined;
}

function describeElf(elf: ElfFacts): string {
  return `ELF ${elf.bits}-bit ${elf.endian === 'little' ? 'LSB' : 'MSB'}, machine ${elf.machine}, ${elf.static ? 'static' : 'dynamic'}`;
}
