import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { sha256File } from '../../core/hashing.js';
import { deriveDebSrc, privateAptConfig, verifyAndExtract } from '../../builder/sources/debian-source.js';
import { tempDir } from '../support/temp.js';
import { resolveContext } from '../support/git-repos.js';

/** The shape of Debian 12's own /etc/apt/sources.list.d/debian.sources. */
const DEBIAN_SOURCES = `Types: deb
# http://archive.example/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

describe('deb-src entries derived from the system apt sources', () => {
  it('keeps each deb822 stanza (Signed-By included) with Types set to deb-src', () => {
    const { deb822, oneLine } = deriveDebSrc([{ name: '/etc/apt/sources.list.d/debian.sources', text: DEBIAN_SOURCES }]);
    expect(oneLine).toBe('');
    expect(deb822).toBe(DEBIAN_SOURCES.replaceAll('Types: deb\n', 'Types: deb-src\n'));
  });

  it('turns one-line deb entries into deb-src with their options, dropping comments and duplicates', () => {
    const list = [
      '# deb http://mirror.example/commented bookworm main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian bookworm main contrib # trailing',
      'deb-src http://mirror.example/debian bookworm main',
      'deb http://mirror.example/debian  bookworm   main',
      '',
    ].join('\n');
    const { deb822, oneLine } = deriveDebSrc([{ name: '/etc/apt/sources.list', text: list }]);
    expect(deb822).toBe('');
    expect(oneLine).toBe(
      'deb-src [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian bookworm main contrib\n' +
        'deb-src http://mirror.example/debian bookworm main\n',
    );
  });

  it('leaves out disabled stanzas and stanzas that are not package sources', () => {
    const text = `Types: deb\nURIs: http://a.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\nTypes: deb deb-src\nURIs: http://b.example/debian\nSuites: bookworm\nComponents: main\n\n# only a comment\n`;
    const { deb822 } = deriveDebSrc([{ name: 'x.sources', text }]);
    expect(deb822).toBe('Types: deb-src\nURIs: http://b.example/debian\nSuites: bookworm\nComponents: main\n');
  });

  it('points apt at private lists and caches and never turns verification off', () => {
    const config = privateAptConfig('/cache/debian-source/apt');
    expect(config).toContain('Dir::Etc::SourceList "/cache/debian-source/apt/sources.list";');
    expect(config).toContain('Dir::Etc::SourceParts "/cache/debian-source/apt/sources.list.d";');
    expect(config).toContain('Dir::State::Lists "/cache/debian-source/apt/lists";');
    expect(config).toContain('Dir::Cache "/cache/debian-source/apt/cache";');
    expect(config).not.toMatch(/AllowInsecure|AllowUnauthenticated|AllowDowngradeToInsecure|trusted|Check-Signature|allow-unauthenticated|Verify/i);
  });
});

describe('verifying a tarball before extracting it', () => {
  function tarball() {
    const work = tempDir('tarball');
    mkdirSync(join(work, 'pkg-1.0', 'src'), { recursive: true });
    writeFileSync(join(work, 'pkg-1.0', 'CMakeLists.txt'), 'project(pkg C)\n');
    writeFileSync(join(work, 'pkg-1.0', 'src', 'main.c'), 'int main(void) { return 0; }\n');
    const file = join(work, 'pkg_1.0.orig.tar.gz');
    execFileSync('tar', ['-czf', file, '-C', work, 'pkg-1.0']);
    const into = join(work, 'into');
    mkdirSync(into);
    return { work, file, into, context: resolveContext(join(work, 'cache'), join(work, 'run')) };
  }

  it('extracts a tarball that matches the pin and returns its top folder', async () => {
    const { file, into, context } = tarball();
    const root = await verifyAndExtract(file, await sha256File(file), into, context);
    expect(root).toBe(join(into, 'tree', 'pkg-1.0'));
    expect(readFileSync(join(root, 'src', 'main.c'), 'utf8')).toContain('int main');
  });

  it('refuses a tampered tarball before extracting anything', async () => {
    const { file, into, context } = tarball();
    const pinned = await sha256File(file);
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff; // flip the last byte (gzip's size trailer)
    writeFileSync(file, bytes);
    const tampered = await sha256File(file);
    const attempt = verifyAndExtract(file, pinned, into, context);
    await expect(attempt).rejects.toThrow(UserError);
    await expect(attempt).rejects.toThrow(`pkg_1.0.orig.tar.gz has sha256 ${tampered}, but the component pins ${pinned}; refusing to extract it`);
    expect(readdirSync(into)).toEqual([]);
    expect(existsSync(join(into, 'tree'))).toBe(false);
  });
});
