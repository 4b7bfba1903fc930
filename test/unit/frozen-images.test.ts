import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { busyboxLayout, GROUP, parsePasswd, PASSWD } from '../../testrunner/frozen-images/busybox-layout.js';
import { tweakConfig } from '../../testrunner/frozen-images/busybox-latest.js';
import { parseLdd } from '../../testrunner/frozen-images/busybox-glibc.js';
import { debEntries, debianMirrors, debianSources, osRelease } from '../../testrunner/frozen-images/debian-mirror.js';
import { fullReference } from '../../core/image-layout.js';
import { writeDockerArchive } from '../../testrunner/frozen-images/docker-archive.js';
import { FROZEN_IMAGE_EXTRAS, FROZEN_IMAGES, RECIPES } from '../../testrunner/frozen-images/index.js';
import { HELLO_TARGETS, helloMessage } from '../../testrunner/frozen-images/hello-world.js';
import { Layout, materialize } from '../../testrunner/frozen-images/layout.js';
import { layerTar } from '../../testrunner/frozen-images/tar-writer.js';
import { tempDir } from '../support/temp.js';

const APPLETS = ['[', '[[', 'adduser', 'addgroup', 'busybox', 'env', 'id', 'sh', 'top'];
const asRoot = process.getuid?.() === 0;

function busybox(): Layout {
  return busyboxLayout({ busybox: Buffer.from('#!busybox\n'), applets: APPLETS, localtime: Buffer.from('TZif2 UTC') });
}

describe('busybox layout, as the official image', () => {
  const root = tempDir('busybox-layout');
  const ready = materialize(busybox(), root);

  it("has buildroot's accounts: daemon uid 1, bin 2, nobody 65534; wheel 10, audio 29, staff 50", async () => {
    await ready;
    const users = parsePasswd(readFileSync(join(root, 'etc/passwd'), 'utf8'));
    expect(users.map((u) => [u.name, u.uid, u.gid])).toEqual([
      ['root', 0, 0],
      ['daemon', 1, 1],
      ['bin', 2, 2],
      ['sys', 3, 3],
      ['sync', 4, 100],
      ['mail', 8, 8],
      ['www-data', 33, 33],
      ['operator', 37, 37],
      ['nobody', 65534, 65534],
    ]);
    const groups = readFileSync(join(root, 'etc/group'), 'utf8');
    for (const line of ['daemon:x:1:', 'wheel:x:10:root', 'audio:x:29:', 'staff:x:50:', 'users:x:100:', 'nobody:x:65534:'])
      expect(groups).toContain(`${line}\n`);
    expect(readFileSync(join(root, 'etc/shadow'), 'utf8')).toMatch(/^root:\*:/);
    expect(statSync(join(root, 'etc/shadow')).mode & 0o777).toBe(0o600);
  });

  it('links every applet to /bin/busybox and has /usr/bin/env', async () => {
    await ready;
    const inode = statSync(join(root, 'bin/busybox')).ino;
    for (const applet of APPLETS) expect(statSync(join(root, 'bin', applet)).ino).toBe(inode);
    expect(readlinkSync(join(root, 'usr/bin/env'))).toBe('../../bin/env');
    expect(statSync(join(root, 'bin/busybox')).mode & 0o777).toBe(0o755);
  });

  it("has the device table's folders and a home for each account", async () => {
    await ready;
    expect(statSync(join(root, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(statSync(join(root, 'root')).mode & 0o7777).toBe(0o700);
    for (const dir of ['home', 'var/spool/mail', 'usr/sbin', 'var/www', 'etc/network/if-up.d', 'dev'])
      expect(lstatSync(join(root, dir)).isDirectory()).toBe(true);
    if (asRoot) {
      expect(statSync(join(root, 'home')).uid).toBe(65534);
      expect(statSync(join(root, 'var/spool/mail')).uid).toBe(8);
      expect(statSync(join(root, 'usr/sbin')).uid).toBe(1);
      expect(statSync(join(root, 'var/www')).gid).toBe(33);
    }
    expect(readFileSync(join(root, 'etc/localtime'), 'utf8')).toBe('TZif2 UTC');
  });
});

describe('layer tar', () => {
  it('is the same bytes every time, with owners and modes from the layout whoever writes it', () => {
    const first = layerTar(busybox(), 1_700_000_000);
    expect(layerTar(busybox(), 1_700_000_000).equals(first)).toBe(true);
    const dir = tempDir('layer-tar');
    writeFileSync(join(dir, 'layer.tar'), first);
    const listing = execFileSync('tar', ['-tvf', join(dir, 'layer.tar'), '--numeric-owner'], { encoding: 'utf8' });
    expect(listing).toMatch(/^drwxrwxrwt 0\/0 +0 2023-11-14 \d\d:\d\d tmp\/$/m);
    expect(listing).toMatch(/^drwxr-xr-x 65534\/65534 .* home\/$/m);
    expect(listing).toMatch(/^-rw------- 0\/0 .* etc\/shadow$/m);
    // The first name of the hard-linked group carries the data; a link must follow what it names.
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 +10 .* bin\/\[$/m);
    expect(listing).toMatch(/^hrwxr-xr-x 0\/0 +0 .* bin\/busybox link to bin\/\[$/m);
    expect(listing).toMatch(/^lrwxrwxrwx 0\/0 +0 .* usr\/bin\/env -> \.\.\/\.\.\/bin\/env$/m);
  });

  it('extracts with GNU tar into the same tree', () => {
    const dir = tempDir('layer-extract');
    writeFileSync(join(dir, 'layer.tar'), layerTar(busybox(), 0));
    mkdirSync(join(dir, 'root'));
    execFileSync('tar', ['-xf', join(dir, 'layer.tar'), '-C', join(dir, 'root')]);
    expect(statSync(join(dir, 'root/bin/adduser')).ino).toBe(statSync(join(dir, 'root/bin/busybox')).ino);
    expect(readFileSync(join(dir, 'root/bin/busybox'), 'utf8')).toBe('#!busybox\n');
  });
});

describe('docker save archive', () => {
  it('names the platform, command and tags the daemon will show', async () => {
    const dir = tempDir('archive');
    const layer = join(dir, 'layer.tar');
    writeFileSync(layer, layerTar(new Layout().file('hello', 'x', 0o755), 0));
    const info = await writeDockerArchive(join(dir, 'out'), layer, {
      tags: ['hello-world:arm64'],
      platform: { architecture: 'arm64', variant: 'v8' },
      config: { Cmd: ['/hello'], Env: ['PATH=/bin'] },
      created: '2023-05-04T17:37:03Z',
      createdBy: 'test',
    });
    const legacy = JSON.parse(readFileSync(join(dir, 'out/manifest.json'), 'utf8')) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
    expect(legacy[0]?.RepoTags).toEqual(['hello-world:arm64']);
    const config = JSON.parse(readFileSync(join(dir, 'out', legacy[0]?.Config ?? ''), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ architecture: 'arm64', variant: 'v8', os: 'linux', config: { Cmd: ['/hello'] }, rootfs: { diff_ids: [info.diffId] } });
    const index = JSON.parse(readFileSync(join(dir, 'out/index.json'), 'utf8')) as { manifests: Array<{ annotations: Record<string, string> }> };
    expect(index.manifests[0]?.annotations['io.containerd.image.name']).toBe('docker.io/library/hello-world:arm64');
    expect(readFileSync(join(dir, 'out/oci-layout'), 'utf8')).toContain('1.0.0');
  });

  it('qualifies references as the daemon does', () => {
    expect(fullReference('busybox:latest')).toBe('docker.io/library/busybox:latest');
    expect(fullReference('arm32v7/hello-world:latest')).toBe('docker.io/arm32v7/hello-world:latest');
  });
});

describe('the recipes', () => {
  it("make exactly moby's frozen images plus the Dockerfile's arm32v7/hello-world", () => {
    expect([...FROZEN_IMAGES].sort()).toEqual(
      ['busybox:latest', 'busybox:glibc', 'hello-world:frozen', 'debian:trixie-slim', 'hello-world:amd64', 'hello-world:arm64'].sort(),
    );
    expect(RECIPES.flatMap((r) => r.tags).sort()).toEqual([...FROZEN_IMAGES, ...FROZEN_IMAGE_EXTRAS].sort());
  });

  it('give each hello-world the architecture its tag says, and the text the tests look for', () => {
    const arch = (tag: string) => HELLO_TARGETS.find((t) => t.tags.includes(tag))?.platform;
    expect(arch('hello-world:frozen')).toEqual({ architecture: 'amd64' });
    expect(arch('hello-world:amd64')).toEqual({ architecture: 'amd64' });
    expect(arch('hello-world:arm64')).toEqual({ architecture: 'arm64', variant: 'v8' });
    expect(arch('arm32v7/hello-world:latest')).toEqual({ architecture: 'arm', variant: 'v7' });
    expect(helloMessage('amd64')).toContain('\nHello from Docker!\n');
  });

  it("apply docker-library's busybox configuration changes", () => {
    const config = ['CONFIG_AR is set wrongly', '# CONFIG_AR is not set', 'CONFIG_STATIC=n', 'CONFIG_FEATURE_SYNC_FANCY=y', ''].join('\n');
    const tweaked = tweakConfig(config).split('\n');
    expect(tweaked).toContain('CONFIG_AR=y');
    expect(tweaked).toContain('CONFIG_STATIC=y');
    expect(tweaked).toContain('CONFIG_INOTIFYD=y');
    expect(tweaked).toContain('# CONFIG_FEATURE_SYNC_FANCY is not set');
  });

  it('read the libraries and the loader from ldd', () => {
    const ldd = [
      '\tlinux-vdso.so.1 (0x00007ffd)',
      '\tlibresolv.so.2 => /lib/x86_64-linux-gnu/libresolv.so.2 (0x00007f96)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f96)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f96)',
    ].join('\n');
    expect(parseLdd(ldd)).toEqual(['/lib/x86_64-linux-gnu/libresolv.so.2', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  });
});

describe("the machine's Debian mirror", () => {
  const files = [
    {
      name: '/etc/apt/sources.list.d/debian.sources',
      text: `Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\n# a comment\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n`,
    },
    { name: '/etc/apt/sources.list.d/other.list', text: 'deb [signed-by=/k.gpg] https://vendor.example/apt stable main\n# deb http://x/ y z\n' },
  ];

  it('is found by the suites of the machine’s release, in deb822 and one-line files', () => {
    expect(debEntries(files).map((e) => e.uri)).toEqual([
      'http://mirror.example/debian',
      'http://mirror.example/debian-security',
      'https://vendor.example/apt',
    ]);
    expect(debianMirrors(files, 'bookworm')).toEqual({ archive: 'http://mirror.example/debian', security: 'http://mirror.example/debian-security' });
    expect(() => debianMirrors(files, 'jammy')).toThrow(/no Debian mirror for jammy/);
  });

  it("becomes the image's debian.sources for trixie", () => {
    const text = debianSources({ archive: 'http://mirror.example/debian', security: 'http://mirror.example/debian-security' }, 'trixie');
    expect(text).toContain('URIs: http://mirror.example/debian\nSuites: trixie trixie-updates\n');
    expect(text).toContain('URIs: http://mirror.example/debian-security\nSuites: trixie-security\n');
    expect(text).toContain('Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg');
  });

  it('reads the release from os-release', () => {
    expect(osRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME=bookworm\n')).toEqual({ id: 'debian', codename: 'bookworm' });
  });
});

// The fixture text must not drift from the data the image gets.
it('keeps the account files newline-terminated', () => {
  expect(PASSWD.endsWith('\n') && GROUP.endsWith('\n')).toBe(true);
});
