import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { sha256File, sha256Text } from '../core/hashing.js';
import { completePulledLayout } from '../core/image-layout.js';
import type { RemoteImages } from '../core/remote-images.js';
import { UserError } from '../core/errors.js';
import { run } from '../core/process.js';
import type { DevContainer } from './dev-image.js';

/**
 * The dev image on the shared cache registry: keyed by what `docker build`
 * reads (Dockerfile.dev, the files it copies, the release and platform),
 * pulled with `docker load` instead of built, and offered after a build.
 * The Debian mirror is not in the key: it says where packages come from,
 * not which, as Docker's own build cache keys a RUN line by its text.
 */
export const DEV_IMAGE_KEY_LABEL = 'org.moby-make.dev-image.key';
const RECIPE_VERSION = 1;

type Engine = Pick<DevContainer, 'docker' | 'dockerHost' | 'env'>;

export async function devImageKey(projectRoot: string, release: string): Promise<string> {
  const dockerfile = join(projectRoot, 'Dockerfile.dev');
  const copied: Record<string, string> = {};
  for (const source of copySources(await readFile(dockerfile, 'utf8'))) {
    for (const file of await filesUnder(join(projectRoot, source))) copied[relative(projectRoot, file)] = await sha256File(file);
  }
  const inputs = { recipe: RECIPE_VERSION, release, arch: process.arch, dockerfile: await sha256File(dockerfile), copied };
  return sha256Text(JSON.stringify(inputs)).slice(0, 32);
}

/** The sources of Dockerfile.dev's COPY and ADD lines, relative to the build context. */
export function copySources(dockerfile: string): string[] {
  const sources: string[] = [];
  for (const line of dockerfile.replace(/\\\n/g, ' ').split('\n')) {
    const match = /^\s*(?:COPY|ADD)\s+(.*)$/i.exec(line);
    if (!match) continue;
    const words = (match[1] ?? '').split(/\s+/).filter((word) => word !== '' && !word.startsWith('--'));
    for (const source of words.slice(0, -1)) {
      if (/[*?[]|^https?:|^\[/.test(source)) {
        throw new UserError(`Dockerfile.dev: ${line.trim()}: the dev image's cache key needs plain paths`, 'Name the files to copy one by one.');
      }
      sources.push(source);
    }
  }
  return sources;
}

async function filesUnder(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UserError(`Dockerfile.dev copies ${path}, which does not exist`);
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** The key the engine's image of this tag was built for (its label), or undefined. */
export async function engineImageKey(engine: Engine, tag: string): Promise<string | undefined> {
  const inspected = await run([engine.docker, 'image', 'inspect', '--format', `{{index .Config.Labels "${DEV_IMAGE_KEY_LABEL}"}}`, tag], {
    env: { ...engine.env, DOCKER_HOST: engine.dockerHost },
  });
  const key = inspected.stdout.trim();
  return inspected.exitCode === 0 && /^[0-9a-f]{32}$/.test(key) ? key : undefined;
}

/** The image of this key from the registry, loaded into the engine as `tag`; its reference, or undefined (a miss, a refusal, a store away). */
export async function pullDevImage(engine: Engine, remote: RemoteImages, entry: { release: string; key: string; tag: string }): Promise<string | undefined> {
  const layout = await mkdtemp(join(tmpdir(), 'moby-make-dev-image-'));
  try {
    const fetched = await remote.fetch({ kind: 'dev', image: entry.release, key: entry.key, blobsDir: join(layout, 'blobs', 'sha256') });
    if (!fetched) return undefined;
    await completePulledLayout(layout, [entry.tag], fetched.manifestDigest);
    // docker load unpacks each layer and checks it against the diff ID the config names.
    await pipe(['tar', '-C', layout, '-c', '.'], [engine.docker, 'load', '--quiet'], engine, `docker load of ${fetched.ref}`);
    return fetched.ref;
  } finally {
    await rm(layout, { recursive: true, force: true });
  }
}

/** A pushing run offers the engine's image when the registry lacks it; its reference, or undefined. */
export async function offerDevImage(engine: Engine, remote: RemoteImages, entry: { release: string; key: string; tag: string }): Promise<string | undefined> {
  const image = { kind: 'dev' as const, image: entry.release, key: entry.key };
  if (!remote.pushing || (await remote.has(image))) return undefined;
  const layout = await mkdtemp(join(tmpdir(), 'moby-make-dev-image-'));
  try {
    await pipe([engine.docker, 'save', entry.tag], ['tar', '-C', layout, '-x'], engine, `docker save of ${entry.tag}`);
    return (await remote.push({ ...image, dir: layout }))?.ref;
  } finally {
    await rm(layout, { recursive: true, force: true });
  }
}

/** `from | to`, both with the engine chosen; a non-zero exit of either is an error naming what failed. */
function pipe(from: string[], to: string[], engine: Engine, what: string): Promise<void> {
  const env = { ...engine.env, DOCKER_HOST: engine.dockerHost };
  const spawnOne = (argv: string[], stdio: ['ignore' | 'pipe', 'pipe' | 'ignore', 'pipe']) => spawn(argv[0] as string, argv.slice(1), { env, stdio });
  const producer = spawnOne(from, ['ignore', 'pipe', 'pipe']);
  const consumer = spawnOne(to, ['pipe', 'ignore', 'pipe']);
  producer.stdout?.pipe(consumer.stdin as NodeJS.WritableStream);
  const errors: string[] = [];
  const ended = (child: typeof producer, argv: string[]) =>
    new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => errors.push(chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv[0] ?? ''} ${argv[1] ?? ''} exited with ${code ?? 'a signal'}`))));
    });
  return Promise.all([ended(producer, from), ended(consumer, to)]).then(
    () => undefined,
    (error: unknown) => {
      const detail = errors.join('').trim().split('\n').pop();
      throw new UserError(`${what} failed: ${error instanceof Error ? error.message : String(error)}${detail ? ` (${detail})` : ''}`);
    },
  );
}
