import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../../core/errors.js';
import { ensureRequirements, installPolicy } from '../../../core/requirements.js';

/** Debian's busybox-static: one static binary, so a rootfs needs nothing else and no registry. */
export const BUSYBOX = '/bin/busybox';

export async function ensureBusybox(): Promise<void> {
  await ensureRequirements(
    [{ kind: 'file', anyOf: [BUSYBOX], aptPackage: 'busybox-static', why: 'the integration tests build their image from it' }],
    installPolicy(process.env, (line) => console.log(line)),
  );
  if (hasInterpreter(readFileSync(BUSYBOX))) {
    throw new UserError(`${BUSYBOX} is linked dynamically; a container rootfs needs the static one`, 'Run as root: apt-get install busybox-static');
  }
}

/** A 64-bit ELF with a PT_INTERP program header needs a dynamic loader. */
function hasInterpreter(elf: Buffer): boolean {
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i += 1) if (elf.readUInt32LE(phoff + i * phentsize) === 3) return true;
  return false;
}

/** A minimal root filesystem: busybox and its applet links, a root user, /tmp, and a page for httpd. */
export function writeBusyboxRootfs(dir: string): void {
  for (const sub of ['bin', 'etc', 'tmp', 'www', 'proc', 'sys', 'dev']) mkdirSync(join(dir, sub), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .filter((a) => a && a !== 'busybox');
  for (const applet of applets) symlinkSync('busybox', join(dir, 'bin', applet));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  writeFileSync(join(dir, 'www', 'index.html'), 'served-from-busybox-httpd\n');
}
