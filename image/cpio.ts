import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { UserError } from '../core/errors.js';
import { run } from '../core/process.js';

/**
 * The initramfs format the kernel unpacks (Documentation/driver-api/early-userspace/buffer-format.rst):
 * "newc" cpio, written here rather than by cpio(1) so that the bytes depend
 * on the entries alone — sorted paths, inode numbers in that order, one
 * timestamp, owner root — and a rebuild of the same image is byte-identical.
 */
export type CpioEntry =
  | { kind: 'dir'; path: string; mode: number }
  | { kind: 'file'; path: string; mode: number; source: string }
  | { kind: 'data'; path: string; mode: number; contents: Buffer }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'char'; path: string; mode: number; major: number; minor: number };

export const COMPRESSIONS = ['none', 'gzip', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = 'TRAILER!!!';

/** The entries sorted, with every parent folder present (0755 unless listed), paths relative and without `./`. */
export function normalizedEntries(entries: readonly CpioEntry[]): CpioEntry[] {
  const byPath = new Map<string, CpioEntry>();
  for (const entry of entries) {
    const path = posix.normalize(entry.path).replace(/^\/+/, '');
    if (path === '' || path === '.' || path.startsWith('..'))
      throw new UserError(`${entry.path} is not a path inside the image`, 'Give paths under the image root.');
    if (byPath.has(path))
      throw new UserError(`${path} is in the image twice`, 'Give each path once (image.yml files, or a bundle file that a file entry shadows).');
    byPath.set(path, { ...entry, path });
  }
  for (const path of [...byPath.keys()]) {
    for (let parent = posix.dirname(path); parent !== '.'; parent = posix.dirname(parent)) {
      if (!byPath.has(parent)) byPath.set(parent, { kind: 'dir', path: parent, mode: 0o755 });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function header(fields: {
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  size: number;
  rdevMajor?: number;
  rdevMinor?: number;
  name: string;
}): Buffer {
  const name = Buffer.from(`${fields.name}\0`);
  const hex = (value: number) => value.toString(16).padStart(8, '0');
  const text =
    '070701' +
    [fields.ino, fields.mode, 0, 0, fields.nlink, fields.mtime, fields.size, 0, 0, fields.rdevMajor ?? 0, fields.rdevMinor ?? 0, name.length, 0]
      .map(hex)
      .join('');
  return Buffer.concat([Buffer.from(text, 'ascii'), name, padding(110 + name.length)]);
}

function padding(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

async function* archive(entries: readonly CpioEntry[], mtime: number): AsyncGenerator<Buffer> {
  let ino = 0;
  for (const entry of entries) {
    ino += 1;
    const base = { ino, mtime, name: entry.path };
    switch (entry.kind) {
      case 'dir':
        yield header({ ...base, mode: S_IFDIR | entry.mode, nlink: 2, size: 0 });
        break;
      case 'symlink': {
        const target = Buffer.from(entry.target);
        yield header({ ...base, mode: S_IFLNK | 0o777, nlink: 1, size: target.length });
        yield Buffer.concat([target, padding(target.length)]);
        break;
      }
      case 'char':
        yield header({ ...base, mode: S_IFCHR | entry.mode, nlink: 1, size: 0, rdevMajor: entry.major, rdevMinor: entry.minor });
        break;
      case 'data':
        yield header({ ...base, mode: S_IFREG | entry.mode, nlink: 1, size: entry.contents.length });
        yield Buffer.concat([entry.contents, padding(entry.contents.length)]);
        break;
      case 'file': {
        const { size } = await stat(entry.source);
        yield header({ ...base, mode: S_IFREG | entry.mode, nlink: 1, size });
        let read = 0;
        for await (const chunk of createReadStream(entry.source, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
          read += chunk.length;
          yield chunk;
        }
        if (read !== size) throw new Error(`${entry.source} changed size while it was archived`);
        yield padding(size);
        break;
      }
      default:
        entry satisfies never;
    }
  }
  yield header({ ino: 0, mode: 0, nlink: 1, mtime: 0, size: 0, name: TRAILER });
}

/** Writes the archive to `file`, compressed as the kernel can unpack it (Debian's kernels have gzip and zstd). */
export async function writeCpio(entries: readonly CpioEntry[], file: string, options: { mtime: number; compression: Compression }): Promise<void> {
  const source = archive(normalizedEntries(entries), options.mtime);
  switch (options.compression) {
    case 'none':
      await pipeline(source, createWriteStream(file));
      return;
    case 'gzip':
      // A fixed level and no file name or time in the gzip header: the same archive, the same bytes.
      await pipeline(source, createGzip({ level: 6 }), createWriteStream(file));
      return;
    case 'zstd': {
      // Node 20's zlib has no zstd: zstd(1) compresses the plain archive (multithreaded, and the same bytes as one thread).
      const plain = `${file}.cpio`;
      await pipeline(source, createWriteStream(plain));
      const compressed = await run(['zstd', '-q', '-f', '--rm', '-T0', '-3', '-o', file, plain]);
      if (compressed.exitCode !== 0)
        throw new UserError(
          `zstd could not compress ${plain}: ${compressed.stderr.trim()}`,
          'Install zstd (apt-get install zstd), or set outputs.compression in image.yml to gzip or none.',
        );
      return;
    }
    default:
      options.compression satisfies never;
  }
}
