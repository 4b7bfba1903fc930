import { fileURLToPath, pathToFileURL } from 'node:url';

/** The launcher (bin/launcher.js) that runs the project's commands from their compiled modules. */
export const LAUNCHER = fileURLToPath(new URL('../bin/run.js', import.meta.url));

interface Launcher {
  importTypeScript(file: string): Promise<unknown>;
}

/**
 * Imports a TypeScript module by its path, however this process runs the
 * project's code: from the launcher's compiled modules (a component of the
 * checkout is the same module the rest imports), through tsx's loader for one
 * from elsewhere, or as vitest transforms it under the tests.
 */
export function importTypeScript(file: string): Promise<unknown> {
  const launcher = (globalThis as { [key: symbol]: Launcher | undefined })[Symbol.for('moby-make.launcher')];
  return launcher ? launcher.importTypeScript(file) : import(pathToFileURL(file).href);
}

/** The argv that runs one of the project's TypeScript entry points (a path to its `.ts` file) in a node of its own. */
export function launcherArgv(entry: string, ...args: string[]): [string, ...string[]] {
  return [process.execPath, LAUNCHER, entry, ...args];
}
