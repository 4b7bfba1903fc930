import { join } from 'node:path';
import { componentContext, componentsInBundles, loadComponents } from '../../builder/components.js';
import type { MakeResult } from '../../builder/make.js';
import { CLIENT_BUNDLE, DAEMON_BUNDLE, bundlePaths } from '../../core/bundle-layout.js';
import type { Env } from '../../core/env.js';
import { UserError } from '../../core/errors.js';
import { crossCompiler, isHost, type Platform } from '../../core/platform.js';
import { aptCandidate, installPolicy, onPath } from '../../core/requirements.js';
import { smokeTest } from '../../cross/smoke.js';
import type { CrossEvent } from '../render/cross-lines.js';

/** The bundles a cross build makes: the daemon stack and the docker CLI (integration-cli's CLI is a test tool of this machine). */
const CROSS_BUNDLES = [DAEMON_BUNDLE, CLIENT_BUNDLE];

export interface CrossRun {
  bundlesDir: string;
  componentsDir: string;
  env: Env;
  dynamic: boolean;
  only: string[] | undefined;
  smoke: boolean;
  /** One `make` into a bundles root (the build subsystem, wired by tasks/make.ts). */
  build: (options: { bundlesDir: string; platform?: Platform; only?: string[] }) => Promise<MakeResult>;
  onEvent: (event: CrossEvent) => void;
}

/**
 * moby's `make cross`: each platform into bundles/cross/<os>-<arch>[-<variant>]/,
 * a bundles root of its own (generations, sidecars, manifest, logs), one after
 * another; `local` is this machine's bundles/. A platform with no cross
 * compiler to be had is named before anything builds, and the others build.
 */
export async function makeCross(platforms: readonly Platform[], run: CrossRun): Promise<number> {
  const { env, onEvent } = run;
  const unavailable: string[] = [];
  for (const platform of platforms) {
    // Windows targets are pure Go: no C cross compiler to look for.
    if (isHost(platform) || platform.os !== 'linux') continue;
    const compiler = crossCompiler(platform);
    if (!onPath(compiler.command, env) && !(await aptCandidate(compiler.aptPackage, env))) {
      unavailable.push(platform.name);
      onEvent({ type: 'platform-unavailable', platform: platform.name, aptPackage: compiler.aptPackage });
    }
  }
  const built: string[] = [];
  const failed = [...unavailable];
  for (const platform of platforms) {
    if (unavailable.includes(platform.name)) continue;
    const host = isHost(platform);
    const bundlesDir = host ? run.bundlesDir : crossBundlesDir(run.bundlesDir, platform);
    onEvent({ type: 'platform-started', platform: platform.name, bundlesDir });
    try {
      const result = await run.build(
        host ? { bundlesDir, ...(run.only ? { only: run.only } : {}) } : { bundlesDir, platform, only: await crossComponents(run, platform) },
      );
      if (result.failed.length > 0) {
        failed.push(platform.name);
        continue;
      }
    } catch (error) {
      // A missing prerequisite (the apt command to run, multiarch to allow) ends this platform only.
      if (!(error instanceof UserError)) throw error;
      onEvent({ type: 'platform-failed', platform: platform.name, error: error.message, ...(error.hint ? { hint: error.hint } : {}) });
      failed.push(platform.name);
      continue;
    }
    if (run.smoke && !host) {
      const smoked = await smokeTest({
        platform,
        bundles: CROSS_BUNDLES.map((name) => ({ cross: bundlePaths(bundlesDir, name).current, host: bundlePaths(run.bundlesDir, name).current })),
        env,
        dynamic: run.dynamic,
        install: installPolicy(env, (packages) => onEvent({ type: 'installing', packages })),
        onEvent,
      });
      onEvent({ type: 'smoke-finished', platform: platform.name, ...smoked });
      if (smoked.failed > 0) {
        failed.push(platform.name);
        continue;
      }
    }
    built.push(platform.name);
  }
  onEvent({ type: 'cross-finished', built, failed });
  return failed.length > 0 ? 1 : 0;
}

export function crossBundlesDir(bundlesDir: string, platform: Platform): string {
  return join(bundlesDir, 'cross', platform.dir);
}

/** --only within the cross bundles; by default all of them. */
async function crossComponents(run: CrossRun, platform: Platform): Promise<string[]> {
  const specs = await loadComponents(run.componentsDir, componentContext(run.env, run.dynamic, platform));
  const names = componentsInBundles(specs, CROSS_BUNDLES);
  if (!run.only) return names;
  const outside = run.only.filter((name) => !names.includes(name));
  if (outside.length > 0) throw new UserError(`--only ${outside.join(',')}: not built for other platforms`, `A cross build has ${names.join(', ')}.`);
  return run.only;
}
