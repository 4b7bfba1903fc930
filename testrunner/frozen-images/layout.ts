import { chmod, chown, link, mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * A root filesystem described as data: what an image's single layer holds,
 * with owners and modes, independent of who runs us. It becomes a layer tar
 * (tar-writer.ts) without touching the disk, or real files for tests.
 * Paths are relative to / and never start with a slash.
 */
export type LayoutEntry =
  | { kind: 'dir'; path: string; mode: number; uid?: number; gid?: number }
  | { kind: 'file'; path: string; mode: number; data: Buffer; uid?: number; gid?: number }
  | { kind: 'symlink'; path: string; target: string }
  /** Another name for an earlier file entry, as `busybox --install` makes for every applet. */
  | { kind: 'hardlink'; path: string; target: string; mode?: number; uid?: number; gid?: number };

export class Layout {
  private readonly entries = new Map<string, LayoutEntry>();

  add(entry: LayoutEntry): this {
    if (entry.path.startsWith('/') || entry.path.split('/').includes('..')) throw new Error(`layout path ${entry.path} is not relative to the root`);
    if (entry.kind === 'hardlink' && this.entries.get(entry.target)?.kind !== 'file') throw new Error(`hard link ${entry.path}: ${entry.target} is not a file`);
    this.entries.set(entry.path, entry);
    return this;
  }

  /** Creates `path` and its missing parents as root-owned 0755 folders (what `mkdir -p` does as root). */
  dir(path: string, mode = 0o755, owner: { uid: number; gid: number } = { uid: 0, gid: 0 }): this {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i += 1) {
      const parent = parts.slice(0, i).join('/');
      if (!this.entries.has(parent)) this.add({ kind: 'dir', path: parent, mode: 0o755 });
    }
    return this.add({ kind: 'dir', path, mode, ...owner });
  }

  file(path: string, data: Buffer | string, mode = 0o644): this {
    this.ensureParent(path);
    return this.add({ kind: 'file', path, mode, data: typeof data === 'string' ? Buffer.from(data) : data });
  }

  symlink(path: string, target: string): this {
    this.ensureParent(path);
    return this.add({ kind: 'symlink', path, target });
  }

  hardlink(path: string, target: string): this {
    this.ensureParent(path);
    return this.add({ kind: 'hardlink', path, target });
  }

  has(path: string): boolean {
    return this.entries.has(path);
  }

  get(path: string): LayoutEntry | undefined {
    return this.entries.get(path);
  }

  /**
   * Sorted by path, so parents come first and the tar is the same on every
   * run. A tar's hard link must follow the file it names, so within a group
   * of hard-linked names the first in order carries the data and the others
   * link to it, as GNU tar --sort=name writes them (/bin/[ before /bin/busybox).
   */
  list(): LayoutEntry[] {
    const firstName = new Map<string, string>();
    for (const entry of this.entries.values()) {
      if (entry.kind !== 'hardlink') continue;
      const current = firstName.get(entry.target) ?? entry.target;
      if (entry.path < current) firstName.set(entry.target, entry.path);
    }
    const entries = [...this.entries.values()].map((entry): LayoutEntry => {
      if (entry.kind === 'file') {
        const first = firstName.get(entry.path);
        return first ? { kind: 'hardlink', path: entry.path, target: first, mode: entry.mode, uid: entry.uid, gid: entry.gid } : entry;
      }
      if (entry.kind === 'hardlink') {
        const first = firstName.get(entry.target) ?? entry.target;
        const file = this.entries.get(entry.target);
        if (file?.kind !== 'file') throw new Error(`hard link ${entry.path}: ${entry.target} is not a file`);
        if (entry.path === first) return { ...file, path: entry.path };
        return { kind: 'hardlink', path: entry.path, target: first, mode: file.mode, uid: file.uid, gid: file.gid };
      }
      return entry;
    });
    return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private ensureParent(path: string): void {
    const parent = dirname(path);
    if (parent !== '.' && !this.entries.has(parent)) this.dir(parent);
  }
}

/** Writes the layout as real files under `root`; owners are applied only when we may (as root). */
export async function materialize(layout: Layout, root: string): Promise<void> {
  const mayChown = process.getuid?.() === 0;
  for (const entry of layout.list()) {
    const path = join(root, entry.path);
    switch (entry.kind) {
      case 'dir':
        await mkdir(path, { recursive: true });
        await chmod(path, entry.mode);
        if (mayChown) await chown(path, entry.uid ?? 0, entry.gid ?? 0);
        break;
      case 'file':
        await writeFile(path, entry.data);
        await chmod(path, entry.mode);
        if (mayChown) await chown(path, entry.uid ?? 0, entry.gid ?? 0);
        break;
      case 'symlink':
        await symlink(entry.target, path);
        break;
      case 'hardlink':
        await link(join(root, entry.target), path);
        break;
    }
  }
}
