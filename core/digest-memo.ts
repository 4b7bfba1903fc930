import { existsSync } from 'node:fs';
import { rename, stat, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { sha256File } from './hashing.js';
import { readJsonFile } from './json-file.js';

/**
 * Identity of a file's bytes without reading them: any write changes ctime
 * and replacing the file changes the inode, as git's index relies on.
 */
const rememberedSchema = z.object({ ino: z.string(), size: z.string(), mtimeNs: z.string(), ctimeNs: z.string(), sha256: z.string() });
const memoSchema = z.record(z.string(), rememberedSchema);
type Remembered = z.infer<typeof rememberedSchema>;

async function identityOf(path: string): Promise<Omit<Remembered, 'sha256'>> {
  const info = await stat(path, { bigint: true });
  return { ino: String(info.ino), size: String(info.size), mtimeNs: String(info.mtimeNs), ctimeNs: String(info.ctimeNs) };
}

/**
 * Files' sha256, remembered in a file by the identity of their bytes: a file
 * is read and hashed again only when its identity changed since. For the
 * checks that run on every command (a no-op make, a dev daemon's start), not
 * for verify-bundle, the audit, which hashes everything.
 */
export class DigestMemo {
  private readonly asked = new Map<string, Remembered>();

  private constructor(
    private readonly file: string,
    private readonly known: Readonly<Record<string, Remembered>>,
  ) {}

  static open(file: string): DigestMemo {
    return new DigestMemo(file, readJsonFile(file, memoSchema) ?? {});
  }

  async sha256(path: string): Promise<string> {
    const identity = await identityOf(path);
    const known = this.known[path];
    const same =
      known && known.ino === identity.ino && known.size === identity.size && known.mtimeNs === identity.mtimeNs && known.ctimeNs === identity.ctimeNs;
    const sha256 = same ? known.sha256 : await sha256File(path);
    this.asked.set(path, { ...identity, sha256 });
    return sha256;
  }

  /** Whether this run has asked for the file's digest (and so proved it). */
  checked(path: string): boolean {
    return this.asked.has(path);
  }

  /**
   * A file whose sha256 this run proved or wrote, with the identity its
   * bytes have now: publishing links every kept file into the new
   * generation, which changes their ctime, and the next run would otherwise
   * hash the whole bundle again.
   */
  async remember(path: string, sha256: string): Promise<void> {
    const identity = await identityOf(path).catch(() => undefined);
    if (identity) this.asked.set(path, { ...identity, sha256 });
  }

  /** What was hashed or found this time, and what was remembered of files that still exist; a failure to write costs the next run a hash. */
  async save(): Promise<void> {
    const kept = Object.entries(this.known).filter(([path]) => !this.asked.has(path) && existsSync(path));
    const temporary = `${this.file}.${process.pid}`;
    try {
      await writeFile(temporary, `${JSON.stringify(Object.fromEntries([...kept, ...this.asked]))}\n`);
      await rename(temporary, this.file);
    } catch {
      // The next run hashes what it cannot find here.
    }
  }
}
