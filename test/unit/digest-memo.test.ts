import { createHash } from 'node:crypto';
import { appendFileSync, linkSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DigestMemo } from '../../core/digest-memo.js';
import { tempDir } from '../support/temp.js';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const NOT_ITS_HASH = 'f'.repeat(64);

/** A memo whose one entry says `path` hashes to NOT_ITS_HASH while its bytes keep the identity they have now. */
function memoClaiming(dir: string, path: string): string {
  const info = statSync(path, { bigint: true });
  const file = join(dir, 'digests.json');
  const entry = { ino: String(info.ino), size: String(info.size), mtimeNs: String(info.mtimeNs), ctimeNs: String(info.ctimeNs), sha256: NOT_ITS_HASH };
  writeFileSync(file, JSON.stringify({ [path]: entry }));
  return file;
}

describe('DigestMemo', () => {
  it('answers from memory while the bytes keep their identity, and hashes a file written since', async () => {
    const dir = tempDir('digest-memo');
    const path = join(dir, 'dockerd');
    writeFileSync(path, 'one');
    const file = memoClaiming(dir, path);
    // The remembered answer proves the bytes were not read.
    expect(await DigestMemo.open(file).sha256(path)).toBe(NOT_ITS_HASH);

    appendFileSync(path, 'two');
    expect(await DigestMemo.open(file).sha256(path)).toBe(sha256(path));
  });

  it('hashes a file replaced by another of the same size and times', async () => {
    const dir = tempDir('digest-memo');
    const path = join(dir, 'runc');
    writeFileSync(path, 'aaaa');
    const file = memoClaiming(dir, path);
    const { atime, mtime } = statSync(path);
    writeFileSync(join(dir, 'other'), 'bbbb');
    utimesSync(join(dir, 'other'), atime, mtime);
    renameSync(join(dir, 'other'), path);
    expect(await DigestMemo.open(file).sha256(path)).toBe(sha256(path));
  });

  it('remembers a file it is told the sha256 of, by the identity its bytes have now', async () => {
    const dir = tempDir('digest-memo');
    const path = join(dir, 'containerd');
    writeFileSync(path, 'published');
    const file = join(dir, 'digests.json');
    const publishing = DigestMemo.open(file);
    await publishing.remember(path, NOT_ITS_HASH);
    await publishing.remember(join(dir, 'missing'), NOT_ITS_HASH);
    await publishing.save();
    expect(await DigestMemo.open(file).sha256(path)).toBe(NOT_ITS_HASH);
    appendFileSync(path, ' and changed');
    expect(await DigestMemo.open(file).sha256(path)).toBe(sha256(path));
  });

  it('counts a file unchanged since its proof as proved, and carries a proof through a link', async () => {
    const dir = tempDir('digest-memo');
    const [same, edited] = ['same', 'edited'].map((name) => join(dir, name)) as [string, string];
    for (const path of [same, edited]) writeFileSync(path, 'bytes');
    const file = join(dir, 'digests.json');
    const first = DigestMemo.open(file);
    for (const path of [same, edited]) await first.sha256(path);
    await first.save();

    writeFileSync(edited, 'BYTES');
    const publishing = DigestMemo.open(file);
    expect(await publishing.unchanged(same)).toBe(true);
    expect(await publishing.unchanged(edited)).toBe(false);
    // Publishing links the file elsewhere: its ctime changes, its inode does not.
    linkSync(same, join(dir, 'link'));
    linkSync(edited, join(dir, 'link2'));
    for (const path of [same, edited]) await publishing.relinked(path);
    await publishing.save();
    const remembered = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { ctimeNs: string }>;
    expect(remembered[same]?.ctimeNs).toBe(String(statSync(same, { bigint: true }).ctimeNs));
    expect(remembered[edited]?.ctimeNs).not.toBe(String(statSync(edited, { bigint: true }).ctimeNs));
    expect(await DigestMemo.open(file).sha256(edited)).toBe(sha256(edited));
  });

  it('saves what it was asked and what it remembers of files that still exist', async () => {
    const dir = tempDir('digest-memo');
    const [kept, asked, gone] = ['kept', 'asked', 'gone'].map((name) => join(dir, name)) as [string, string, string];
    for (const path of [kept, asked]) writeFileSync(path, path);
    const file = join(dir, 'digests.json');
    const first = DigestMemo.open(file);
    for (const path of [kept, asked]) await first.sha256(path);
    await first.save();
    const remembered = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...remembered, [gone]: remembered[kept] }));

    const second = DigestMemo.open(file);
    await second.sha256(asked);
    await second.save();
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')) as object).sort()).toEqual([asked, kept].sort());
  });
});
