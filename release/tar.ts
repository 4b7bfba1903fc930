import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/**
 * A reproducible .tgz: POSIX ustar entries in the order given, every one
 * owned by root:root with the same mtime, gzip with no name and no
 * time in its header (Node's gzip writes neither), at gzip's default level as
 * `tar -czf` in docker-ce-packaging compresses. The same files therefore
 * give the same bytes on any machine and any day, which `tar --sort=name
 * --owner=0 --mtime=@N | gzip -n` gives only where GNU tar is that new.
 */
export type TarEntry = { kind: 'dir'; name: string; mode: number } | { kind: 'file'; name: string; mode: number; source: string; size: number };

const BLOCK = 512;

export async function writeTgz(target: string, entries: readonly TarEntry[], mtimeSeconds: number): Promise<void> {
  await pipeline(Readable.from(tarBlocks(entries, mtimeSeconds)), createGzip(), createWriteStream(target));
}

async function* tarBlocks(entries: readonly TarEntry[], mtimeSeconds: number): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield header(entry, mtimeSeconds);
    if (entry.kind === 'dir') continue;
    let written = 0;
    for await (const chunk of createReadStream(entry.source)) {
      written += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    // A file that changed size under us would make a tarball whose headers lie.
    if (written !== entry.size) throw new Error(`${entry.source} changed while it was archived (${entry.size} bytes expected, ${written} read)`);
    const padding = (BLOCK - (written % BLOCK)) % BLOCK;
    if (padding > 0) yield Buffer.alloc(padding);
  }
  // Two zero blocks end the archive; GNU tar pads to a 10 KiB record, which readers do not need.
  yield Buffer.alloc(BLOCK * 2);
}

/** One ustar header block (POSIX.1-1988), names split into prefix and name where longer than 100 bytes. */
export function header(entry: TarEntry, mtimeSeconds: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  const name = entry.kind === 'dir' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  const [prefix, base] = splitName(name);
  block.write(base, 0, 100, 'utf8');
  octal(block, 100, 8, entry.mode);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, entry.kind === 'file' ? entry.size : 0);
  octal(block, 136, 12, mtimeSeconds);
  block.fill(' ', 148, 156); // the checksum is computed with its own field as spaces
  block.write(entry.kind === 'dir' ? '5' : '0', 156, 1, 'ascii');
  block.write('ustar\u000000', 257, 8, 'ascii');
  block.write('root', 265, 32, 'ascii');
  block.write('root', 297, 32, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return block;
}

function splitName(name: string): [prefix: string, name: string] {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  const slash = name.lastIndexOf('/', name.length - 2);
  const prefix = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  if (slash < 0 || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(rest) > 100) throw new Error(`${name} is too long for a ustar header`);
  return [prefix, rest];
}

function octal(block: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new Error(`${value} does not fit a ${width}-byte tar field`);
  block.write(`${digits.padStart(width - 1, '0')}\u0000`, offset, width, 'ascii');
}
