import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SourceRecord } from '../../core/manifest.js';
import { controlFile, maintainerScripts } from '../../release/deb.js';
import { DEB_PACKAGES } from '../../release/layout.js';
import { parseLintian } from '../../release/lintian.js';
import { envelope, IN_TOTO_PAYLOAD_TYPE, pae, parseEnvelope, signedBy } from '../../release/provenance.js';
import { writeTgz, type TarEntry } from '../../release/tar.js';
import { containerdDebVersion, debUpstreamVersion, debVersion, staticVersion } from '../../release/version.js';

const scratch = mkdtempSync(join(tmpdir(), 'moby-make-release-unit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const tagged = (version: string, extra: { commit?: string; dirty?: boolean } = {}): SourceRecord => ({
  kind: 'module',
  identity: `github.com/moby/moby/v2@${version} h1:AAAA`,
  version,
  origin: { module: 'github.com/moby/moby/v2', version },
  ...extra,
});
const commitTime = new Date('2026-11-03T14:05:09Z');
const bookworm = { id: 'debian', versionId: '12', codename: 'bookworm' };

/** dpkg's own ordering, so the versions are checked against the tool that installs them. */
function dpkgLess(a: string, b: string): boolean {
  return spawnSync('dpkg', ['--compare-versions', a, 'lt', b]).status === 0;
}

describe('release versions, as gen-static-ver and gen-deb-ver make them', () => {
  it('takes a release tag without its v, and a pre-release as it is', () => {
    expect(staticVersion(tagged('v29.1.0'), commitTime)).toBe('29.1.0');
    expect(staticVersion(tagged('v2.0.0-beta.21'), commitTime)).toBe('2.0.0-beta.21');
  });

  it('gives a dev or changed tree the pseudo-version of its commit time and commit', () => {
    const commit = '0123456789abcdef0123456789abcdef01234567';
    expect(staticVersion(tagged('v2.0.0-dev', { commit }), commitTime)).toBe('0.0.0-20261103140509-0123456789ab');
    expect(staticVersion(tagged('v29.1.0', { commit, dirty: true }), commitTime)).toBe('0.0.0-20261103140509-0123456789ab');
    // A module pseudo-version names its commit only inside the identity.
    const pseudo = tagged('v2.0.0-20261103140509-abcdefabcdef');
    expect(staticVersion(pseudo, commitTime)).toBe('0.0.0-20261103140509-abcdefabcdef');
  });

  it('refuses a dev tree that names no commit', () => {
    expect(() => staticVersion({ kind: 'path', identity: 'tree 00', version: 'v2.0.0-dev', origin: { dir: '/src' } }, commitTime)).toThrow(/names no commit/);
  });

  it('writes Debian versions with ~ so that dpkg orders dev < pre-releases < release', () => {
    expect(debVersion('2.0.0-beta.21', bookworm)).toBe('5:2.0.0~beta.21-1~debian.12~bookworm');
    expect(debUpstreamVersion('29.1.0')).toBe('29.1.0');
    expect(debUpstreamVersion('0.0.0-20261103140509-0123456789ab')).toBe('0.0.0~20261103140509.0123456789ab');
    const ordered = ['0.0.0-20261103140509-0123456789ab', '29.1.0-beta.1', '29.1.0-rc.1', '29.1.0-rc.2', '29.1.0', '29.1.1'].map((v) =>
      debVersion(v, bookworm),
    );
    for (let i = 1; i < ordered.length; i++) expect(dpkgLess(ordered[i - 1] ?? '', ordered[i] ?? ''), `${ordered[i - 1]} < ${ordered[i]}`).toBe(true);
  });

  it("names containerd.io by containerd's tag, no epoch", () => {
    expect(containerdDebVersion('v2.3.4')).toBe('2.3.4-1');
    expect(containerdDebVersion('v2.2.0-rc.1', 2)).toBe('2.2.0~rc.1-2');
    expect(dpkgLess(containerdDebVersion('v2.2.0-rc.1'), containerdDebVersion('v2.2.0'))).toBe(true);
  });
});

describe('the reproducible tarball', () => {
  const payload = join(scratch, 'payload');
  writeFileSync(payload, 'x'.repeat(1300));
  const long = `docker/${'nested/'.repeat(16)}file-with-a-long-name`;
  const entries: TarEntry[] = [
    { kind: 'dir', name: 'docker', mode: 0o755 },
    { kind: 'file', name: 'docker/dockerd', mode: 0o755, source: payload, size: 1300 },
    { kind: 'file', name: long, mode: 0o644, source: payload, size: 1300 },
  ];

  it('is read by GNU tar as root-owned entries in the given order, one mtime, modes and sizes kept', async () => {
    const tgz = join(scratch, 'a.tgz');
    await writeTgz(tgz, entries, 1_700_000_000);
    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvzf', tgz], { env: { TZ: 'UTC' }, encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(listing.map((line) => line.split(/\s+/).slice(0, 3).join(' '))).toEqual(['drwxr-xr-x 0/0 0', '-rwxr-xr-x 0/0 1300', '-rw-r--r-- 0/0 1300']);
    expect(listing.every((line) => line.includes('2023-11-14 22:13:20'))).toBe(true);
    expect(listing.map((line) => line.split(/\s+/).pop())).toEqual(['docker/', 'docker/dockerd', long]);
    const out = join(scratch, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-xzf', tgz, '-C', out]);
    expect(readFileSync(join(out, long), 'utf8')).toBe('x'.repeat(1300));
    expect(statSync(join(out, 'docker/dockerd')).mode & 0o777).toBe(0o755);
  });

  it('gives the same bytes for the same files and mtime', async () => {
    await writeTgz(join(scratch, 'b.tgz'), entries, 1_700_000_000);
    await writeTgz(join(scratch, 'c.tgz'), entries, 1_700_000_000);
    expect(readFileSync(join(scratch, 'b.tgz')).equals(readFileSync(join(scratch, 'c.tgz')))).toBe(true);
  });

  it('refuses a file that changed size since it was planned, and a name ustar cannot hold', async () => {
    await expect(writeTgz(join(scratch, 'd.tgz'), [{ kind: 'file', name: 'f', mode: 0o644, source: payload, size: 10 }], 0)).rejects.toThrow(
      /changed while it was archived/,
    );
    await expect(writeTgz(join(scratch, 'e.tgz'), [{ kind: 'file', name: 'x'.repeat(101), mode: 0o644, source: payload, size: 1300 }], 0)).rejects.toThrow(
      /too long for a ustar header/,
    );
  });
});

describe('Debian package metadata', () => {
  const engine = DEB_PACKAGES.find((pkg) => pkg.name === 'docker-ce');
  if (!engine) throw new Error('docker-ce is not in DEB_PACKAGES');
  const inputs = {
    pkg: engine,
    version: '5:29.1.0-1~debian.12~bookworm',
    architecture: 'amd64',
    files: new Map<string, string>(),
    licenseText: '',
    dynamic: true,
    builtFrom: 'moby v29.1.0',
    distroCodename: 'bookworm',
    epochSeconds: 0,
  };

  it('writes a control file dpkg parses, with libc6 added for a dynamic binary', () => {
    const control = join(scratch, 'control');
    writeFileSync(control, controlFile(inputs, 1234));
    const deb = debOf(control);
    const field = (name: string) => execFileSync('dpkg-deb', ['--field', deb, name], { encoding: 'utf8' }).trim();
    expect(field('Package')).toBe('docker-ce');
    expect(field('Installed-Size')).toBe('1234');
    expect(field('Depends')).toMatch(/containerd\.io \(>= [^)]+\).*, libc6$/);
    expect(readFileSync(control, 'utf8')).toMatch(/^Description: \S.*\n( \S.*\n| \.\n)+$/m);
  });

  it('writes maintainer scripts that sh parses, enabling the units and making the docker group', () => {
    const scripts = maintainerScripts(engine);
    expect(Object.keys(scripts).sort()).toEqual(['postinst', 'postrm', 'prerm']);
    for (const [name, text] of Object.entries(scripts)) {
      const file = join(scratch, name);
      writeFileSync(file, text);
      expect(spawnSync('sh', ['-n', file]).status, name).toBe(0);
    }
    expect(scripts.postinst).toContain("for unit in 'docker.socket' 'docker.service'");
    expect(scripts.postinst).toContain('groupadd --system docker');
    const cli = DEB_PACKAGES.find((pkg) => pkg.name === 'docker-ce-cli');
    expect(cli && maintainerScripts(cli)).toEqual({});
  });
});

/** An empty package around the control file, so that its fields are read by dpkg's own parser, not a regex of ours. */
function debOf(control: string): string {
  const dir = mkdtempSync(join(scratch, 'deb-'));
  mkdirSync(join(dir, 'pkg/DEBIAN'), { recursive: true });
  copyFileSync(control, join(dir, 'pkg/DEBIAN/control'));
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', join(dir, 'pkg'), join(dir, 'p.deb')], { stdio: 'ignore' });
  return join(dir, 'p.deb');
}

describe("lintian's output", () => {
  it('reads severity, tag and detail, with or without a package type', () => {
    const output = [
      'E: docker-ce: binary-without-manpage [usr/bin/dockerd]',
      'W: docker-ce-rootless-extras: package-has-long-file-name docker-ce-rootless-extras_2.0.0~beta.21-1~debian.12~bookworm_amd64.deb',
      'I: containerd.io source: some-info',
      'N: a note line is not a finding',
    ].join('\n');
    expect(parseLintian(output)).toEqual([
      { severity: 'error', tag: 'binary-without-manpage', detail: '[usr/bin/dockerd]' },
      { severity: 'warning', tag: 'package-has-long-file-name', detail: 'docker-ce-rootless-extras_2.0.0~beta.21-1~debian.12~bookworm_amd64.deb' },
      { severity: 'info', tag: 'some-info', detail: '' },
    ]);
  });
});

describe('DSSE envelopes', () => {
  it('signs the pre-authentication encoding DSSE defines', () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it('verifies with the signing key only, and not once the payload changes', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const signed = envelope({ hello: 'world' }, privateKey);
    expect(signed.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    expect(signedBy(signed, publicKey)).toBe(true);
    expect(signedBy(signed, other)).toBe(false);
    expect(signedBy({ ...signed, payload: Buffer.from('{"hello":"mars"}').toString('base64') }, publicKey)).toBe(false);
    expect(parseEnvelope(JSON.stringify(signed))).toEqual(signed);
    expect(parseEnvelope('{"payloadType":1}')).toBeUndefined();
    expect(envelope({}, undefined).signatures).toEqual([]);
  });
});
