import { realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Env } from '../../core/env.js';
import type { Listener } from '../../core/events.js';
import { installPolicy } from '../../core/requirements.js';
import { buildImage, imageDir, type BuiltImage } from '../../image/build.js';
import type { BootOptions } from '../../image/qemu.js';
import { readImageSpec, type ImageSpec } from '../../image/spec.js';
import { makeFrozenArchives, recipesFor } from '../../testrunner/frozen-images/index.js';
import { projectRoot } from '../paths.js';
import type { ImageCommandEvent } from '../render/image-lines.js';
import { openRemoteImages } from './remote-images.js';

export interface PreparedImage {
  spec: ImageSpec;
  built: BuiltImage;
  /** The generation the build published, even if another build swaps the link meanwhile. */
  dir: string;
}

export interface ImageContext {
  bundlesDir: string;
  cacheDir: string;
  env: Env;
  signal: AbortSignal;
  onEvent: Listener<ImageCommandEvent>;
}

/** image.yml's machine, up to date: its frozen images made (or taken from the shared cache), then the image built or found unchanged. */
export async function prepareImage(context: ImageContext, specPath = join(projectRoot, 'image.yml')): Promise<PreparedImage> {
  const { bundlesDir, cacheDir, env, signal, onEvent } = context;
  const spec = readImageSpec(specPath);
  const recipes = recipesFor(spec.images, "image.yml's images");
  const remote = await openRemoteImages(env, (notice) => onEvent({ type: 'cache', notice }));
  const archives = await makeFrozenArchives({ cacheDir, env, signal, onEvent, recipes, ...(remote ? { remote } : {}) });
  const built = await buildImage({
    spec,
    specDir: dirname(specPath),
    bundlesDir,
    cacheDir,
    initSource: join(projectRoot, 'image', 'init'),
    images: archives.map((archive) => ({ dir: archive.dir, tags: archive.info.tags, key: basename(dirname(archive.dir)) })),
    env,
    onEvent,
  });
  return { spec, built, dir: realpathSync(imageDir(bundlesDir)) };
}

/** How to boot it: the run folder bundles/image-run, image.yml's memory and CPUs unless the caller needs more. */
export function bootOptions(prepared: PreparedImage, context: ImageContext, memoryMiB = prepared.spec.outputs.memory): BootOptions {
  return {
    dir: prepared.dir,
    runDir: join(context.bundlesDir, 'image-run'),
    memoryMiB,
    cpus: prepared.spec.outputs.cpus,
    cacheDir: context.cacheDir,
    install: installPolicy(context.env, (packages) => context.onEvent({ type: 'installing', packages })),
    env: context.env,
    signal: context.signal,
    onEvent: context.onEvent,
  };
}
