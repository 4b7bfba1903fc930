import type { WriteStream } from 'node:fs';
import type { Env } from '../../core/env.js';
import type { InstallPolicy } from '../../core/requirements.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostPlatform, type ImageSpec, type Platform } from './docker-archive.js';
import type { Layout } from './layout.js';
import { layerTar } from './tar-writer.js';

export interface RecipeContext {
  env: Env;
  signal: AbortSignal;
  /** An empty folder of this make's own, removed afterwards. */
  workDir: string;
  /** Every command's output goes here (the recipe's log in the cache). */
  log: WriteStream;
  install: InstallPolicy;
  /** The frozen images' cache root, for what a recipe remembers between runs. */
  cacheDir: string;
}

/** How one image (one layer, one config, one or more tags) is made on this machine. */
export interface Recipe {
  /** Its folder in the cache. */
  id: string;
  tags: readonly string[];
  /** One line for people: what it is made from. */
  how: string;
  /**
   * Everything the result depends on, cheap to find out (package versions,
   * pins, file digests, toolchain versions; no download, no build). Its
   * digest is the cache key, so a change to any of them makes the image anew.
   * Includes RECIPE_VERSION and the recipe's own revision (bumped when its
   * code changes what it makes).
   */
  inputs(context: RecipeContext): Promise<Record<string, unknown>>;
  /** Makes the layer tar (a file in workDir) and says what image it is. */
  make(context: RecipeContext): Promise<{ layerTar: string; spec: ImageSpec }>;
}

/**
 * Bumped when the shared code (layout, layer tar, archive) changes what every
 * recipe makes; part of every key, beside each recipe's own `revision`.
 */
export const RECIPE_VERSION = 3;

/** The PATH every official image sets. */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface LayoutImage {
  tags: readonly string[];
  cmd: readonly string[];
  /** Also every file's mtime in the layer. */
  created: string;
  createdBy: string;
  /** Default: this machine's. */
  platform?: Platform;
}

/** A recipe's result from a layout: its layer tar in workDir and the image around it. */
export async function layoutImage(layout: Layout, workDir: string, image: LayoutImage): Promise<{ layerTar: string; spec: ImageSpec }> {
  const layer = join(workDir, 'layer.tar');
  await writeFile(layer, layerTar(layout, Date.parse(image.created) / 1000));
  return {
    layerTar: layer,
    spec: {
      tags: image.tags,
      platform: image.platform ?? hostPlatform(),
      config: { Cmd: image.cmd, Env: [DEFAULT_PATH] },
      created: image.created,
      createdBy: image.createdBy,
    },
  };
}
