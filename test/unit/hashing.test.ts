import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { digestFile, sha256File, sidecarLine } from '../../core/hashing.js';
import { tempDir } from '../support/temp.js';

describe('sidecars', () => {
  const dir = tempDir('hash');
  const name = 'some-binary';
  // Larger than one read chunk, so the streaming path is exercised.
  writeFileSync(join(dir, name), randomBytes(3 * 1024 * 1024 + 17));

  it.each(['node:crypto', 'hash-wasm'] as const)('match md5sum and sha256sum byte for byte (md5 via %s)', async (md5Implementation) => {
    const digests = await digestFile(join(dir, name), md5Implementation);
    const md5sum = execFileSync('md5sum', [name], { cwd: dir, encoding: 'utf8' });
    const sha256sum = execFileSync('sha256sum', [name], { cwd: dir, encoding: 'utf8' });
    expect(sidecarLine(digests.md5, name)).toBe(md5sum);
    expect(sidecarLine(digests.sha256, name)).toBe(sha256sum);
  });

  it('are accepted by md5sum -c and sha256sum -c', async () => {
    const digests = await digestFile(join(dir, name));
    writeFileSync(join(dir, `${name}.md5`), sidecarLine(digests.md5, name));
    writeFileSync(join(dir, `${name}.sha256`), sidecarLine(digests.sha256, name));
    expect(execFileSync('sh', ['-c', 'sha256sum -c *.sha256 && md5sum -c *.md5'], { cwd: dir, encoding: 'utf8' })).toContain(`${name}: OK`);
    const corrupted = readFileSync(join(dir, name));
    corrupted[0] = (corrupted[0] ?? 0) ^ 0xff;
    writeFileSync(join(dir, name), corrupted);
    expect(() => execFileSync('sha256sum', ['-c', `${name}.sha256`], { cwd: dir, stdio: 'pipe' })).toThrow();
  });
});

describe('hashing on worker threads', () => {
  it('hashes many files at once, each to its own digests', async () => {
    const dir = tempDir('hash-many');
    const files = Array.from({ length: 9 }, (_, i) => {
      const path = join(dir, `f${i}`);
      writeFileSync(path, randomBytes(1024 * 1024 + i));
      return path;
    });
    const digests = await Promise.all(files.map((file) => digestFile(file)));
    const expected = files.map((file) => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]);
    expect(digests.map((d) => d.sha256)).toEqual(expected);
    expect(await sha256File(files[3] as string)).toBe(expected[3]);
  });

  it('fails as reading the file would, with its error code', async () => {
    await expect(sha256File(join(tempDir('hash-missing'), 'gone'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(digestFile(join(tempDir('hash-missing'), 'gone'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
