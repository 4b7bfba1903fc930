import { DAEMON_BUNDLE } from '../core/bundle-layout.js';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import { outputsOf, type ComponentContext, type ComponentDefinition, type ComponentSpec } from './model.js';
import type { Env } from '../core/env.js';
import { askToolSync } from '../core/tool-answers.js';
import { importTypeScript } from '../core/typescript-modules.js';
import { crossPkgConfig, hostPlatform, isHost, type Platform } from '../core/platform.js';

/** Every `*.ts` file in the folder is a component; adding one touches nothing else. */
export async function loadComponents(dir: string, context: ComponentContext): Promise<ComponentSpec[]> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort();
  const specs: ComponentSpec[] = [];
  for (const file of files) {
    const module = await importComponent(resolve(dir, file));
    if (typeof module.default !== 'function') {
      throw new UserError(`${join(dir, file)} does not export a component`, 'Its default export must be a function (context) => ComponentSpec.');
    }
    const spec = module.default(context);
    // A component is for Linux unless it says it builds for the target's OS too.
    if ((spec.os ?? ['linux']).includes(context.platform.os)) specs.push(spec);
  }
  checkUnique(specs);
  return specs;
}

/**
 * A module is evaluated once per process whatever import() is asked again,
 * so keeping what it gave changes nothing but the cost: each import() goes
 * through the loader's hooks, and the watch loads the components every round.
 */
const componentModules = new Map<string, Promise<{ default?: ComponentDefinition }>>();

function importComponent(file: string): Promise<{ default?: ComponentDefinition }> {
  let module = componentModules.get(file);
  if (!module) {
    module = importTypeScript(file) as Promise<{ default?: ComponentDefinition }>;
    componentModules.set(file, module);
  }
  return module;
}

function checkUnique(specs: ComponentSpec[]): void {
  const owners = new Map<string, string>();
  const names = new Set<string>();
  for (const spec of specs) {
    if (names.has(spec.name)) throw new UserError(`two components are named '${spec.name}'`);
    names.add(spec.name);
    // A file name is unique within its bundle: the client bundles each have their own `docker`.
    for (const output of outputsOf(spec).map((name) => `${spec.bundle ?? DAEMON_BUNDLE}/${name}`)) {
      const owner = owners.get(output);
      if (owner) throw new UserError(`components '${owner}' and '${spec.name}' both produce ${output}`);
      owners.set(output, spec.name);
    }
  }
}

/** The subset named by --only, in declaration order; unknown names are an error that lists the valid ones. */
export function selectComponents(specs: ComponentSpec[], only: readonly string[] | undefined): ComponentSpec[] {
  if (!only || only.length === 0) return specs;
  const known = specs.map((s) => s.name);
  const unknown = only.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new UserError(`unknown component${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, `Valid names: ${known.join(', ')}.`);
  }
  return specs.filter((s) => only.includes(s.name));
}

export function componentContext(env: Env, dynamic: boolean, platform: Platform = hostPlatform()): ComponentContext {
  const native = isHost(platform);
  // Windows targets are pure Go: no C library is found for them.
  const pkgConfigEnv = native || platform.os !== 'linux' ? env : { ...env, ...crossPkgConfig(platform) };
  return {
    env,
    dynamic,
    platform,
    native,
    hasPkgConfig: (library) => platform.os === 'linux' && askToolSync(['pkg-config', '--exists', library], pkgConfigEnv, pkgConfigFolderTimes(pkgConfigEnv)).ok,
  };
}

/** What pkg-config's answers depend on besides itself: the folders it reads .pc files from (installing a -dev package changes one). */
function pkgConfigFolderTimes(env: Env): Array<[string, number | null]> {
  const defaults = askToolSync(['pkg-config', '--variable', 'pc_path', 'pkg-config'], env).stdout.trim();
  const folders = [env.PKG_CONFIG_PATH, env.PKG_CONFIG_LIBDIR, defaults].flatMap((list) => (list ?? '').split(':')).filter(Boolean);
  return folders.map((folder) => {
    try {
      return [folder, statSync(folder).mtimeMs];
    } catch {
      return [folder, null];
    }
  });
}

/** The names of the components whose files go to these bundles (binary-daemon when a component names none). */
export function componentsInBundles(specs: readonly ComponentSpec[], bundles: readonly string[]): string[] {
  return specs.filter((spec) => bundles.includes(spec.bundle ?? DAEMON_BUNDLE)).map((spec) => spec.name);
}
