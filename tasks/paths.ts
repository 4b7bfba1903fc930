import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Env } from '../core/env.js';
import { launcherArgv } from '../core/typescript-modules.js';
import { defaultStateDir, stateLayout } from '../devdaemon/layout.js';

/** The project root (this file lives in tasks/). */
export const projectRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The argv of one of the project's tasks as its npm script runs it. */
export function taskArgv(task: string, ...args: string[]): [string, ...string[]] {
  return launcherArgv(join(projectRoot, 'tasks', `${task}.ts`), ...args);
}

export function defaultBundlesDir(env: Env): string {
  return resolve(env.MOBY_MAKE_BUNDLES ?? join(projectRoot, 'bundles'));
}

/** Downloads outlive `rm -rf bundles`, so they live in the user's cache. */
export function defaultCacheDir(env: Env): string {
  return resolve(env.MOBY_MAKE_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'moby-make'));
}

/** The default dev daemon's socket, where mobicli and frozen-images go when DOCKER_HOST is unset. */
export function devDaemonSocket(env: Env): string {
  return stateLayout(defaultStateDir(defaultBundlesDir(env), env)).socket;
}
