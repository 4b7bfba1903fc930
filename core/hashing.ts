import { createHash, getHashes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createMD5 } from 'hash-wasm';

export interface FileDigests {
  md5: string;
  sha256: string;
}

/**
 * OpenSSL's SHA-256 uses the CPU's SHA extensions and is several times faster
 * than hash-wasm here (bench: `npm run bench`). OpenSSL in FIPS mode refuses
 * MD5, so MD5 falls back to hash-wasm where node:crypto will not do it.
 */
function nativeMd5Available(): boolean {
  if (!getHashes().includes('md5')) return false;
  try {
    createHash('md5').update('').digest();
    return true;
  } catch {
    return false;
  }
}

export const defaultMd5: 'node:crypto' | 'hash-wasm' = nativeMd5Available() ? 'node:crypto' : 'hash-wasm';

interface IncrementalHash {
  update(data: Buffer): void;
  digest(): string;
}

export type Md5Implementation = 'node:crypto' | 'hash-wasm';

async function md5Hasher(implementation: Md5Implementation): Promise<IncrementalHash> {
  if (implementation === 'node:crypto') {
    const hash = createHash('md5');
    return { update: (d) => hash.update(d), digest: () => hash.digest('hex') };
  }
  const wasm = await createMD5();
  wasm.init();
  return { update: (d) => wasm.update(d), digest: () => wasm.digest('hex') };
}

/** One read of the file feeds both digests. */
export async function digestFile(path: string, md5Implementation: Md5Implementation = defaultMd5): Promise<FileDigests> {
  const sha256 = createHash('sha256');
  const md5 = await md5Hasher(md5Implementation);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buffer = chunk as Buffer;
    sha256.update(buffer);
    md5.update(buffer);
  }
  return { md5: md5.digest(), sha256: sha256.digest('hex') };
}

export async function sha256File(path: string): Promise<string> {
  const sha256 = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) sha256.update(chunk as Buffer);
  return sha256.digest('hex');
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Exactly what `md5sum NAME` / `sha256sum NAME` print inside the file's folder. */
export function sidecarLine(hexDigest: string, fileName: string): string {
  return `${hexDigest}  ${fileName}\n`;
}
