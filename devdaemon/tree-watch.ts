import { watch, readdirSync, statSync, type FSWatcher } from 'node:fs';
import { basename, join } from 'node:path';

/** Never a source change: git's own files, and what editors write beside the file being edited. */
const IGNORED_DIRS = new Set(['.git']);

/** vim swap and backup files and its write test (4913), emacs lock and autosave files. */
export function isEditorScratch(name: string): boolean {
  return /\.sw[a-p]x?$|~$|^\.#|^#.*#$|^4913$/.test(name);
}

export interface TreeWatcher {
  close(): void;
}

/**
 * Reports changed paths under the roots in batches, once nothing has changed
 * for `debounceMs` (an editor's save is several writes and renames). One
 * inotify watch per directory, so new directories are picked up as they
 * appear; Node's recursive mode would walk the tree again on every event.
 */
export function watchTrees(roots: readonly string[], onChanges: (paths: string[]) => void, debounceMs = 250): TreeWatcher {
  const watchers = new Map<string, FSWatcher>();
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;

  const changed = (path: string) => {
    pending.add(path);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const paths = [...pending].sort();
      pending.clear();
      onChanges(paths);
    }, debounceMs);
  };

  const watchDir = (dir: string) => {
    if (watchers.has(dir) || IGNORED_DIRS.has(basename(dir))) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, (_event, name) => {
        if (!name || isEditorScratch(basename(name))) return;
        const path = join(dir, name);
        if (isDirectory(path)) watchDir(path);
        changed(path);
      });
    } catch {
      return; // removed between listing and watching
    }
    watcher.on('error', () => {
      watcher.close();
      watchers.delete(dir);
    });
    watchers.set(dir, watcher);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory()) watchDir(join(dir, entry.name));
  };

  for (const root of roots) watchDir(root);
  return {
    close: () => {
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
