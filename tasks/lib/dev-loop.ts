import { join, resolve } from 'node:path';
import { componentContext, loadComponents } from '../../builder/components.js';
import { make, type MakeEvent, type MakeOptions } from '../../builder/make.js';
import { seedBundle } from '../../builder/seed.js';
import { bundlePaths } from '../../core/bundle-layout.js';
import type { Env } from '../../core/env.js';
import { UserError } from '../../core/errors.js';
import type { Renderer } from '../../core/events.js';
import type { BuildFailure } from '../../devdaemon/events.js';
import type { RebuildResult, WatchedTree } from '../../devdaemon/watch.js';
import { defaultCacheDir, projectRoot } from '../paths.js';

/**
 * The build side of the contributor loop, wired here because a subsystem
 * never imports another: the dev daemon watches and restarts, the build
 * engine rebuilds, in this one process (no Node start per round).
 */
export interface DevLoop {
  /** The bundles root the daemon runs from: the release one, or `<root>/debug` for a debug build. */
  bundlesDir: string;
  trees: WatchedTree[];
  /** `observe` sees the build's events as they come (the bench times the build steps with them). */
  rebuild: (components: string[], signal: AbortSignal, observe?: (event: MakeEvent) => void) => Promise<RebuildResult>;
}

export interface DevLoopOptions {
  bundlesDir: string;
  env: Env;
  /** moby's DOCKER_DEBUG build (no -w, -gcflags=all=-N -l) in a bundles root of its own, so the release bundle stays. */
  debug: boolean;
  dynamic: boolean;
  jobs: number;
  signal: AbortSignal;
  /** Shows the first build, which can take minutes. */
  renderer: Renderer<MakeEvent>;
}

const componentsDir = join(projectRoot, 'components');

/** The bundles root a debug build lives in, beside the release bundle it never replaces. */
export function debugBundlesDir(bundlesDir: string): string {
  return join(bundlesDir, 'debug');
}

/** Brings the bundle up to date (the first build is shown in full) and returns how to rebuild it. */
export async function prepareDevLoop(options: DevLoopOptions): Promise<DevLoop> {
  const env: Env = options.debug ? { ...options.env, DOCKER_DEBUG: '1' } : options.env;
  const bundlesDir = options.debug ? debugBundlesDir(options.bundlesDir) : options.bundlesDir;
  if (options.debug) await seedBundle(bundlePaths(options.bundlesDir), bundlePaths(bundlesDir));
  const base: Omit<MakeOptions, 'onEvent' | 'signal'> = {
    componentsDir,
    bundlesDir,
    cacheDir: defaultCacheDir(env),
    dynamic: options.dynamic,
    jobs: options.jobs,
    env,
  };
  const first = await make({ ...base, signal: options.signal, onEvent: options.renderer.onEvent });
  await options.renderer.finished();
  if (first.failed.length > 0) throw new UserError(`the bundle did not build: ${first.failed.join(', ')} failed; see the errors above`);
  const trees = await localTrees(env, options.dynamic);
  return {
    bundlesDir,
    trees,
    rebuild: async (components, signal, observe) => {
      const failures: BuildFailure[] = [];
      const result = await make({
        ...base,
        only: components,
        signal,
        onEvent: (event) => {
          observe?.(event);
          if (event.type === 'failed') failures.push({ component: event.component, error: event.error, logFile: event.logFile, logTail: event.logTail });
        },
      });
      const { built, restored } = result;
      return failures.length > 0 ? { ok: false, built, restored, failures } : { ok: true, built, restored };
    },
  };
}

/** Every component (and extra tree) built from a local checkout: DAEMON_SRC, CONTAINERD_SRC, RUNC_SRC, … */
export async function localTrees(env: Env, dynamic: boolean): Promise<WatchedTree[]> {
  const specs = await loadComponents(componentsDir, componentContext(env, dynamic));
  const trees: WatchedTree[] = [];
  for (const spec of specs) {
    for (const candidates of [spec.sources, ...Object.values(spec.extraSources ?? {})]) {
      const first = candidates[0];
      if (first?.kind === 'path') trees.push({ component: spec.name, dir: resolve(first.dir) });
    }
  }
  return trees;
}
