import { createHash, getHashes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createMD5 } from 'hash-wasm';
import { hashInWorker } from './hash-pool.js';

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

export type Md5Implementation = 'node:crypto' | 'hash-wasm';

/** MD5 and SHA-256 of a file, computed side by side on two worker threads (or MD5 by hash-wasm on this thread while SHA-256 runs on one). */
export async function digestFile(path: string, md5Implementation: Md5Implementation = defaultMd5): Promise<FileDigests> {
  const md5 = md5Implementation === 'node:crypto' ? digestInWorker(path, 'md5') : wasmMd5(path);
  const [md5Hex, sha256] = await Promise.all([md5, sha256File(path)]);
  return { md5: md5Hex, sha256 };
}

export function sha256File(path: string): Promise<string> {
  return digestInWorker(path, 'sha256');
}

async function digestInWorker(path: string, algorithm: 'md5' | 'sha256'): Promise<string> {
  const [digest] = await hashInWorker(path, [algorithm]);
  if (digest === undefined) throw new Error(`the hashing worker returned no ${algorithm} of ${path}`);
  return digest;
}

async function wasmMd5(path: string): Promise<string> {
  const md5 = await createMD5();
  md5.init();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) md5.update(chunk as Buffer);
  return md5.digest('hex');
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Exactly what `md5sum NAME` / `sha256sum NAME` print inside the file's folder. */
export function sidecarLine(hexDigest: string, fileName: string): string {
  return `${hexDigest}  ${fileName}\n`;
}
