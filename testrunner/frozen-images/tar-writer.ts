import type { Layout, LayoutEntry } from './layout.js';

const BLOCK = 512;

/**
 * A layer tar of the layout: ustar headers, entries sorted by path, one fixed
 * mtime and numeric owners, so the same layout always gives the same bytes
 * (and the same diff ID) whoever builds it.
 */
export function layerTar(layout: Layout, mtime: number): Buffer {
  const chunks: Buffer[] = [];
  for (const entry of layout.list()) {
    const data = entry.kind === 'file' ? entry.data : undefined;
    chunks.push(header(entry, mtime, data?.length ?? 0));
    if (data) {
      chunks.push(data);
      const padding = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (padding) chunks.push(Buffer.alloc(padding));
    }
  }
  chunks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(chunks);
}

function header(entry: LayoutEntry, mtime: number, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  const name = entry.kind === 'dir' ? `${entry.path}/` : entry.path;
  const [prefix, rest] = splitName(name);
  block.write(rest, 0, 100, 'utf8');
  const mode = entry.kind === 'symlink' ? 0o777 : (entry.mode ?? 0o644);
  const owned = entry.kind === 'symlink' ? { uid: 0, gid: 0 } : entry;
  octal(block, 100, 8, mode);
  octal(block, 108, 8, owned.uid ?? 0);
  octal(block, 116, 8, owned.gid ?? 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, mtime);
  block.write(typeFlag(entry), 156, 1, 'ascii');
  if (entry.kind === 'symlink' || entry.kind === 'hardlink') {
    if (Buffer.byteLength(entry.target) > 100) throw new Error(`link target of ${entry.path} is longer than ustar allows`);
    block.write(entry.target, 157, 100, 'utf8');
  }
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  // The checksum is computed with its own field read as spaces.
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

function typeFlag(entry: LayoutEntry): string {
  switch (entry.kind) {
    case 'file':
      return '0';
    case 'hardlink':
      return '1';
    case 'symlink':
      return '2';
    case 'dir':
      return '5';
  }
}

function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

/** ustar keeps names over 100 bytes as prefix + '/' + name. */
function splitName(name: string): [string, string] {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  for (let cut = name.indexOf('/'); cut !== -1; cut = name.indexOf('/', cut + 1)) {
    const prefix = name.slice(0, cut);
    const rest = name.slice(cut + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return [prefix, rest];
  }
  throw new Error(`${name} is too long for a ustar header`);
}
