import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { z } from 'zod';
import type { Env } from '../../core/env.js';
import { InterruptedError, UserError } from '../../core/errors.js';
import type { Listener } from '../../core/events.js';
import type { RemoteImages } from '../../core/remote-images.js';
import type { RemoteNotice } from '../../core/remote-outputs.js';
import { sha256Text } from '../../core/hashing.js';
import { readJsonFile } from '../../core/json-file.js';
import { pruneCacheEntries } from '../../core/cache-entries.js';
import { populateAtomically } from '../../core/populate-atomically.js';
import { installPolicy } from '../../core/requirements.js';
import { busyboxGlibc } from './busybox-glibc.js';
import { busyboxLatest } from './busybox-latest.js';
import { daemonHas, loadArchive } from './daemon.js';
import { debianSlim } from './debian-slim.js';
import { completePulledArchive, writeDockerArchive, type ArchiveInfo } from './docker-archive.js';
import { HELLO_TARGETS, helloRecipe } from './hello-world.js';
import type { Recipe, RecipeContext } from './recipe.js';

/** moby's list at the pinned tag (internal/testutil/environment/protect.go frozenImages): what every TestMain ensures. */
export const FROZEN_IMAGES: readonly string[] = [
  'busybox:latest',
  'busybox:glibc',
  'hello-world:frozen',
  'debian:trixie-slim',
  'hello-world:amd64',
  'hello-world:arm64',
];

/**
 * Also in moby's Dockerfile frozen-images stage, so in every moby dev
 * container (its loader loads the whole /docker-frozen-images folder):
 * TestCreatePlatformSpecificImageNoPlatform creates a container from it.
 */
export const FROZEN_IMAGE_EXTRAS: readonly string[] = ['arm32v7/hello-world:latest'];

export const RECIPES: readonly Recipe[] = [busyboxLatest, busyboxGlibc, ...HELLO_TARGETS.map(helloRecipe), debianSlim];

/** The recipes of these tags, in that order; an unknown tag is the user's to fix (`where` names the option or field). */
export function recipesFor(tags: readonly string[], where: string): Recipe[] {
  return tags.map((tag) => {
    const recipe = RECIPES.find((candidate) => candidate.tags.includes(tag));
    if (!recipe) throw new UserError(`${where} names ${tag}, which is not a frozen image`, `Name one of: ${RECIPES.flatMap((r) => r.tags).join(', ')}.`);
    return recipe;
  });
}

export type FrozenImageEvent =
  /** The daemon already has it, tags and layer as made here: nothing to do. */
  | { type: 'present'; image: string; tags: readonly string[] }
  /** Found in the cache under its key: not made again. */
  | { type: 'cached'; image: string; key: string }
  | { type: 'making'; image: string; how: string; key: string; log: string }
  | { type: 'made'; image: string; seconds: number; archive: string }
  /** Taken from the shared cache instead of made. */
  | { type: 'pulled'; image: string; ref: string; seconds: number }
  /** Offered to the shared cache, which did not have it. */
  | { type: 'pushed'; image: string; ref: string }
  | { type: 'cache'; notice: RemoteNotice }
  | { type: 'loaded'; image: string; tags: readonly string[]; seconds: number }
  /** Missing prerequisites (mmdebstrap, gcc, …) being installed with apt-get. */
  | { type: 'installing'; packages: readonly string[] };

export interface FrozenArchivesOptions {
  /** The persistent cache root; the images live in <cacheDir>/frozen-images. */
  cacheDir: string;
  env: Env;
  signal: AbortSignal;
  onEvent: Listener<FrozenImageEvent>;
  /** Which recipes (default: all, FROZEN_IMAGES and FROZEN_IMAGE_EXTRAS). */
  recipes?: readonly Recipe[];
  /** The shared cache (MOBY_MAKE_CACHE_REGISTRY): asked before an image is made, offered what was made. */
  remote?: RemoteImages;
}

export interface FrozenImagesOptions extends FrozenArchivesOptions {
  docker: Docker;
}

/** One made image: its `docker save` folder in the cache and what it holds. */
export interface FrozenArchive {
  /** The folder POST /images/load reads as a tar. */
  dir: string;
  info: ArchiveInfo;
}

/** Every recipe's `docker save` folder, made once per recipe key (no registry) and kept in the cache. */
export async function makeFrozenArchives(options: FrozenArchivesOptions): Promise<FrozenArchive[]> {
  const root = join(options.cacheDir, 'frozen-images');
  await mkdir(join(root, 'logs'), { recursive: true });
  // Every recipe's key is asked for at once, and each image is fetched or made (one at a time) as soon as its key is
  // known: one question can be slow (apt-cache reads every package list on a machine without apt's binary cache,
  // 0.65 s of a fresh machine's 1.4 s), and the images after it need not wait. The archives keep the recipes' order.
  const prepared = (options.recipes ?? RECIPES).map((recipe, at) => prepareRecipe(recipe, root, options).then((ready) => ({ at, ready })));
  for (const preparing of prepared) preparing.catch(() => undefined); // a failure is thrown when the race below reaches it
  const archives: FrozenArchive[] = [];
  const waiting = new Map(prepared.map((preparing, at) => [at, preparing]));
  try {
    while (waiting.size > 0) {
      const { at, ready } = await Promise.race(waiting.values());
      waiting.delete(at);
      try {
        options.signal.throwIfAborted();
        const { dir, info } = await ensureArchive(ready, root, options);
        archives[at] = { dir: join(dir, 'archive'), info };
      } finally {
        await ready.release();
      }
    }
  } finally {
    // What an error or an interrupt left unstarted.
    await Promise.all([...waiting.values()].map((preparing) => preparing.then(({ ready }) => ready.release()).catch(() => undefined)));
  }
  return archives;
}

/**
 * Makes sure every frozen image is in the daemon with the right tags: made
 * when missing from the cache, loaded with POST /images/load when the daemon lacks it.
 */
export async function ensureFrozenImages(options: FrozenImagesOptions): Promise<void> {
  for (const archive of await makeFrozenArchives(options)) await loadFrozenArchive(options, archive);
}

export async function loadFrozenArchive(options: Pick<FrozenImagesOptions, 'docker' | 'signal' | 'onEvent'>, { dir, info }: FrozenArchive): Promise<void> {
  const image = info.tags[0] ?? dir;
  if (await daemonHas(options.docker, info)) {
    options.onEvent({ type: 'present', image, tags: info.tags });
    return;
  }
  const started = performance.now();
  await loadArchive(options.docker, dir, info, options.signal);
  options.onEvent({ type: 'loaded', image, tags: info.tags, seconds: (performance.now() - started) / 1000 });
}

/** A recipe with its context (work folder, log) and its key; `release` closes the log and removes the work folder. */
interface PreparedRecipe {
  recipe: Recipe;
  context: RecipeContext;
  logFile: string;
  key: string;
  release: () => Promise<void>;
}

async function prepareRecipe(recipe: Recipe, root: string, options: FrozenArchivesOptions): Promise<PreparedRecipe> {
  const work = join(root, '.work');
  await mkdir(work, { recursive: true });
  const workDir = await mkdtemp(join(work, `${recipe.id}-`));
  const logFile = join(root, 'logs', `${recipe.id}.log`);
  const log = createWriteStream(logFile, { flags: 'w' });
  const release = async () => {
    await new Promise<void>((resolve) => log.end(resolve));
    await rm(workDir, { recursive: true, force: true });
  };
  const context: RecipeContext = {
    env: options.env,
    signal: options.signal,
    workDir,
    log,
    install: installPolicy(options.env, (packages) => options.onEvent({ type: 'installing', packages })),
    cacheDir: root,
  };
  try {
    const key = sha256Text(JSON.stringify(await recipe.inputs(context))).slice(0, 32);
    return { recipe, context, logFile, key, release };
  } catch (error) {
    await release();
    throw error;
  }
}

/** The recipe's cache entry (<root>/<id>/<key>/{archive/,image.json}), made when missing. */
async function ensureArchive(prepared: PreparedRecipe, root: string, options: FrozenArchivesOptions): Promise<{ dir: string; info: ArchiveInfo }> {
  const { recipe, context, logFile, key } = prepared;
  const image = recipe.tags[0] ?? recipe.id;
  try {
    const dir = join(root, recipe.id, key);
    const cached = readInfo(dir);
    if (cached) {
      options.onEvent({ type: 'cached', image, key });
      await offer(recipe, key, dir, options);
      return { dir, info: cached };
    }
    const started = performance.now();
    let pulledFrom: string | undefined;
    await populateAtomically(dir, async (temp) => {
      const archive = join(temp, 'archive');
      const pulled = await options.remote?.fetch({ kind: 'frozen', image: recipe.id, key, blobsDir: join(archive, 'blobs', 'sha256') });
      let info: ArchiveInfo;
      if (pulled) {
        info = await completePulledArchive(archive, recipe.tags, pulled.manifestDigest);
        pulledFrom = pulled.ref;
      } else {
        await rm(archive, { recursive: true, force: true }); // what a refused or cut-off download left
        options.onEvent({ type: 'making', image, how: recipe.how, key, log: logFile });
        const made = await recipe.make(context);
        info = await writeDockerArchive(archive, made.layerTar, made.spec);
      }
      await writeFile(join(temp, 'image.json'), `${JSON.stringify(info, null, 2)}\n`);
    });
    // Older keys of the same image are dead weight (the Debian layer alone is ~85 MB).
    await pruneCacheEntries(join(root, recipe.id), key);
    const seconds = (performance.now() - started) / 1000;
    if (pulledFrom) options.onEvent({ type: 'pulled', image, ref: pulledFrom, seconds });
    else {
      options.onEvent({ type: 'made', image, seconds, archive: join(dir, 'archive') });
      await offer(recipe, key, dir, options);
    }
    const info = readInfo(dir);
    if (!info) throw new Error(`${dir}/image.json is missing right after it was written`);
    return { dir, info };
  } catch (error) {
    if (error instanceof InterruptedError) throw new InterruptedError('No half-made image was kept: the cache holds only complete ones.');
    throw error;
  }
}

/** A pushing run offers the shared cache what it has (made now or earlier), so a warm runner fills an empty registry. */
async function offer(recipe: Recipe, key: string, dir: string, options: FrozenArchivesOptions): Promise<void> {
  if (!options.remote?.pushing) return;
  const pushed = await options.remote.push({ kind: 'frozen', image: recipe.id, key, dir: join(dir, 'archive') });
  if (pushed) options.onEvent({ type: 'pushed', image: recipe.tags[0] ?? recipe.id, ref: pushed.ref });
}

const archiveInfoSchema = z.object({
  tags: z.array(z.string()),
  platform: z.object({ architecture: z.string(), variant: z.string().optional() }),
  diffId: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  configDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
});

/** A cache entry's image.json; a damaged one reads as a missing entry, so the image is made again. */
function readInfo(dir: string): ArchiveInfo | undefined {
  return readJsonFile(join(dir, 'image.json'), archiveInfoSchema);
}
