import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { run } from '../../core/process.js';
import { ensureRequirements, installPolicy } from '../../core/requirements.js';
import { normalizedEntries, writeCpio, type CpioEntry } from '../../image/cpio.js';
import { initBundles, parseImageSpec, readImageSpec } from '../../image/spec.js';
import { projectRoot } from '../../tasks/paths.js';

const scratch = mkdtempSync(join(tmpdir(), 'moby-make-image-unit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const MINIMAL = `kernel:\n  package: linux-image-amd64\ninit:\n  - moby-make/init\n`;

function refusal(text: string): string {
  try {
    parseImageSpec(text, 'image.yml');
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message;
  }
  throw new Error('parsed');
}

describe('image.yml', () => {
  it("the project's image.yml parses: the Debian kernel, the init, the daemon and client bundles, busybox preloaded", () => {
    const spec = readImageSpec(join(projectRoot, 'image.yml'));
    expect(spec.kernel.package).toBe('linux-image-amd64');
    expect(initBundles(spec)).toEqual(['binary-daemon', 'binary-client']);
    expect(spec.services.map((service) => service.name)).toEqual(['containerd', 'dockerd']);
    expect(spec.images).toEqual(['busybox:latest']);
    expect(spec.kernel.modules).toEqual(expect.arrayContaining(['virtio_net', 'overlay', 'veth', 'bridge', 'br_netfilter', 'vxlan', 'dummy']));
  });

  it('fills the defaults LinuxKit leaves implicit', () => {
    const spec = parseImageSpec(MINIMAL, 'image.yml');
    expect(spec.outputs).toEqual({ format: 'kernel+initrd', compression: 'none', memory: 3072, cpus: 2 });
    expect(spec.kernel.cmdline).toBe('console=ttyS0');
    expect(spec.services).toEqual([]);
  });

  it('an unknown field is refused by its full name, at any depth', () => {
    expect(refusal(`${MINIMAL}bogus: 1\n`)).toBe('image.yml: unknown field bogus');
    expect(refusal(MINIMAL.replace('  package:', '  modulez: []\n  package:'))).toBe('image.yml: unknown field kernel.modulez');
    expect(refusal(`${MINIMAL}services:\n  - name: d\n    command: [x]\n    restart: always\n`)).toBe('image.yml: unknown field services[0].restart');
  });

  it('a wrong value names the field and what it takes', () => {
    expect(refusal(MINIMAL.replace('linux-image-amd64', 'vmlinuz'))).toBe('image.yml: kernel.package: a Debian linux-image package');
    expect(refusal(MINIMAL.replace('moby-make/init', 'busybox'))).toMatch(/^image\.yml: init\[0\]: moby-make\/init or bundle\/<name>$/);
    expect(refusal(`${MINIMAL}files:\n  - path: etc/x\n    contents: a\n    symlink: b\n`)).toBe(
      'image.yml: files[0]: give exactly one of contents, source, symlink, directory',
    );
    expect(refusal(`${MINIMAL}outputs:\n  compression: xz\n`)).toMatch(/^image\.yml: outputs\.compression: /);
    expect(refusal('kernel: [')).toMatch(/^image\.yml is not YAML: /);
  });
});

describe('the initrd: a reproducible newc cpio', () => {
  // The readers it is compared with, and zstd for that output (installed as the project installs its tools, when root).
  beforeAll(async () => {
    await ensureRequirements(
      [
        { kind: 'command', command: 'cpio', aptPackage: 'cpio', why: 'listing the archive' },
        { kind: 'command', command: 'bsdtar', aptPackage: 'libarchive-tools', why: 'reading the archive' },
        { kind: 'command', command: 'zstd', aptPackage: 'zstd', why: 'the zstd initrd' },
      ],
      installPolicy(process.env, () => undefined),
    );
  }, 300_000);
  const payload = join(scratch, 'payload');
  writeFileSync(payload, 'seven b');
  const entries: CpioEntry[] = [
    { kind: 'file', path: '/usr/bin/tool', mode: 0o755, source: payload },
    { kind: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
    { kind: 'symlink', path: 'var/run', target: '/run' },
    { kind: 'data', path: 'etc/moby-make/image.json', mode: 0o644, contents: Buffer.from('{}\n') },
    { kind: 'dir', path: 'root', mode: 0o700 },
  ];

  it('lists as cpio(1) and bsdtar read it: sorted, parents added, owners root, one time, devices and links kept', async () => {
    const file = join(scratch, 'plain.cpio');
    await writeCpio(entries, file, { mtime: 0, compression: 'none' });
    const listed = await run(['cpio', '-itv', '--quiet'], { input: readFileSync(file, 'latin1'), env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } });
    expect(listed.exitCode, listed.stderr).toBe(0);
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/));
    expect(rows.map((row) => (row.at(-1) === '/run' ? row.slice(-3).join(' ') : row.at(-1)))).toEqual([
      'dev',
      'dev/console',
      'etc',
      'etc/moby-make',
      'etc/moby-make/image.json',
      'root',
      'usr',
      'usr/bin',
      'usr/bin/tool',
      'var',
      'var/run -> /run',
    ]);
    expect(listed.stdout).toMatch(/^crw------- +1 root +root +5, +1 .* dev\/console$/m);
    expect(listed.stdout).toMatch(/^drwx------ .* root$/m);
    expect(listed.stdout).toMatch(/^-rwxr-xr-x +1 root +root +7 .* usr\/bin\/tool$/m);
    const bsdtar = await run(['bsdtar', '-xOf', file, 'usr/bin/tool']);
    expect(bsdtar.stdout).toBe('seven b');
  });

  it('the same entries give the same bytes, in any order and compressed too', async () => {
    for (const compression of ['none', 'gzip', 'zstd'] as const) {
      await writeCpio(entries, join(scratch, `a.${compression}`), { mtime: 0, compression });
      await writeCpio([...entries].reverse(), join(scratch, `b.${compression}`), { mtime: 0, compression });
      expect(readFileSync(join(scratch, `a.${compression}`)).equals(readFileSync(join(scratch, `b.${compression}`)))).toBe(true);
    }
    const unpacked = await run(['bsdtar', '-tf', join(scratch, 'a.zstd')]);
    expect(unpacked.stdout.split('\n')).toContain('usr/bin/tool');
  });

  it('refuses a path twice and a path outside the root', () => {
    expect(() => normalizedEntries([...entries, { kind: 'dir', path: 'usr/bin/tool', mode: 0o755 }])).toThrow('usr/bin/tool is in the image twice');
    expect(() => normalizedEntries([{ kind: 'dir', path: '../etc', mode: 0o755 }])).toThrow('../etc is not a path inside the image');
  });
});
