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

function sameIdentity(a: Omit<Remembered, 'sha256'>, b: Omit<Remembered, 'sha256'>): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
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
    const sha256 = known && sameIdentity(known, identity) ? known.sha256 : await sha256File(path);
    this.asked.set(path, { ...identity, sha256 });
    return sha256;
  }

  /** A file this run proved, linked since (which changed its ctime): its proof holds for the identity it has now. */
  async relinked(path: string): Promise<void> {
    const proved = this.asked.get(path);
    const identity = proved && (await identityOf(path).catch(() => undefined));
    if (proved && identity && identity.ino === proved.ino) this.asked.set(path, { ...identity, sha256: proved.sha256 });
  }

  /**
   * Whether the file still has the identity it had when its digest was
   * proved, without reading it; if so, this run counts it as proved. For a
   * file about to be linked elsewhere, which changes its ctime.
   */
  async unchanged(path: string): Promise<boolean> {
    const known = this.known[path];
    const identity = known && (await identityOf(path).catch(() => undefined));
    if (!known || !identity || !sameIdentity(known, identity)) return false;
    this.asked.set(path, known);
    return true;
  }

  /** A file this run wrote, whose sha256 it took on the way in. */
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
