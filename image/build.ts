import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { bundlePaths } from '../core/bundle-layout.js';
import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import type { Listener } from '../core/events.js';
import { digestFile, sha256File, sha256Text, sidecarLine } from '../core/hashing.js';
import { readJsonFile } from '../core/json-file.js';
import { MANIFEST_FILE, readManifest } from '../core/manifest.js';
import { populateAtomically } from '../core/populate-atomically.js';
import { run } from '../core/process.js';
import { ensureRequirements, installPolicy } from '../core/requirements.js';
import { writeCpio, type CpioEntry } from './cpio.js';
import { autoloadModules, ensureKernelTree, moduleClosure, resolveKernelPackage, type KernelPackage } from './kernel.js';
import { initBundles, type ImageCommand, type ImageSpec } from './spec.js';

/** Where QEMU's user-mode network puts the guest, and how dockerd's socket leaves it (image/init forwards it). */
export const GUEST = {
  interface: 'eth0',
  address: '10.0.2.15',
  netmask: '255.255.255.0',
  gateway: '10.0.2.2',
  dockerSocket: '/run/docker.sock',
  dockerPort: 2375,
} as const;

export const IMAGE_BUNDLE = 'image';
export const IMAGE_FILES = ['kernel', 'initrd.img', 'cmdline'] as const;
/** Bump when the image's layout changes, so an image of an older layout is rebuilt. */
const LAYOUT_VERSION = 2;

const fileRecord = z.object({ sha256: z.string(), size: z.number() });
const imageManifestSchema = z.object({
  key: z.string(),
  kernel: z.object({ package: z.string(), version: z.string(), sha256: z.string(), requested: z.string(), release: z.string() }),
  modules: z.array(z.string()),
  /** Loaded when the kernel asks (image/init standing in for modprobe). */
  autoload: z.array(z.string()),
  init: z.object({ sha256: z.string(), go: z.string() }),
  bundles: z.record(z.string(), z.record(z.string(), z.string())),
  images: z.array(z.object({ tags: z.array(z.string()), key: z.string() })),
  compression: z.string(),
  files: z.record(z.string(), fileRecord),
});
export type ImageManifest = z.infer<typeof imageManifestSchema>;

/** A frozen image's `docker save` folder, made by npm run frozen-images' recipes. */
export interface PreloadedImage {
  dir: string;
  tags: readonly string[];
  /** Its recipe key: the same key, the same archive. */
  key: string;
}

export type ImageBuildEvent =
  | { type: 'installing'; packages: readonly string[] }
  | { type: 'kernel'; package: string; version: string; requested: string }
  | { type: 'unchanged'; dir: string; key: string }
  | { type: 'built'; dir: string; key: string; files: number; initrdBytes: number; seconds: number };

export interface ImageBuildOptions {
  spec: ImageSpec;
  /** image.yml's folder: `files[].source` is relative to it. */
  specDir: string;
  bundlesDir: string;
  cacheDir: string;
  /** The image's init program (image/init), built here with the project's Go. */
  initSource: string;
  images: readonly PreloadedImage[];
  env: Env;
  onEvent: Listener<ImageBuildEvent>;
}

export interface BuiltImage {
  dir: string;
  manifest: ImageManifest;
}

export function imageDir(bundlesDir: string): string {
  return join(bundlesDir, IMAGE_BUNDLE);
}

export function readImageManifest(dir: string): ImageManifest | undefined {
  const path = join(dir, MANIFEST_FILE);
  return existsSync(path) ? readJsonFile(path, imageManifestSchema) : undefined;
}

interface BundleInput {
  name: string;
  dir: string;
  /** File name → sha256, as the bundle's manifest records them. */
  files: Record<string, string>;
}

function bundleInput(bundlesDir: string, name: string): BundleInput {
  const link = bundlePaths(bundlesDir, name).current;
  if (!existsSync(link)) throw new UserError(`image.yml's init names bundle/${name}, but there is no ${link}`, 'Build it first: npm run make');
  const dir = realpathSync(link);
  const manifest = readManifest(dir);
  return { name, dir, files: Object.fromEntries(Object.entries(manifest.files).map(([file, record]) => [file, record.sha256])) };
}

/**
 * The init, built once per source and Go version into the cache: static,
 * stripped, without a build id or paths, so the same source and Go give
 * the same init, and an image rebuild does not pay for a go build.
 */
async function buildInit(source: string, cacheDir: string, env: Env): Promise<{ path: string; sha256: string; go: string }> {
  const goEnv = { ...env, CGO_ENABLED: '0', GOFLAGS: '', GOTOOLCHAIN: 'local', GOOS: 'linux', GOARCH: 'amd64' };
  const go = (await run(['go', 'env', 'GOVERSION'], { env: goEnv })).stdout.trim();
  const files = readdirSync(source).filter((name) => name.endsWith('.go') || name === 'go.mod' || name === 'go.sum');
  const key = sha256Text(JSON.stringify([go, ...(await Promise.all(files.sort().map(async (name) => [name, await sha256File(join(source, name))])))]));
  const dir = join(cacheDir, 'image-init', key);
  if (!existsSync(join(dir, 'init'))) {
    await populateAtomically(dir, async (temp) => {
      const built = await run(['go', 'build', '-trimpath', '-ldflags=-s -w -buildid=', '-o', join(temp, 'init'), '.'], { cwd: source, env: goEnv });
      if (built.exitCode !== 0)
        throw new UserError(`go build of the image's init (${source}) failed: ${built.stderr.trim().split('\n').slice(-3).join(' ')}`, 'Fix image/init.');
    });
  }
  return { path: join(dir, 'init'), sha256: await sha256File(join(dir, 'init')), go };
}

/** What init reads at boot (image/init's config struct). */
function initConfig(spec: ImageSpec, modules: readonly string[], images: readonly PreloadedImage[], moduleIndex: string) {
  const withEnv = (entry: ImageCommand) => ({ name: entry.name, command: entry.command, env: entry.env, ready: entry.ready ?? '' });
  return {
    hostname: 'moby-make',
    modules: modules.map((path) => `/${path}`),
    moduleIndex,
    network: { interface: GUEST.interface, address: GUEST.address, netmask: GUEST.netmask, gateway: GUEST.gateway },
    onboot: spec.onboot.map(withEnv),
    services: spec.services.map(withEnv),
    images: images.map((image) => `/${imagePath(image)}`),
    dockerSocket: spec.services.some((service) => service.ready === GUEST.dockerSocket) ? GUEST.dockerSocket : '',
    forward: { port: GUEST.dockerPort, socket: GUEST.dockerSocket, allowed: GUEST.gateway },
  };
}

function imagePath(image: PreloadedImage): string {
  return `var/lib/moby-make/images/${(image.tags[0] ?? image.key).replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

function listTree(root: string, into: string): CpioEntry[] {
  const entries: CpioEntry[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        entries.push({ kind: 'dir', path: join(into, path), mode: 0o755 });
        walk(path);
      } else if (entry.isFile()) entries.push({ kind: 'file', path: join(into, path), mode: 0o644, source: join(root, path) });
    }
  };
  walk('');
  return entries;
}

function specFiles(spec: ImageSpec, specDir: string): CpioEntry[] {
  return spec.files.map((entry): CpioEntry => {
    const mode = entry.mode ? parseInt(entry.mode, 8) : undefined;
    if (entry.symlink !== undefined) return { kind: 'symlink', path: entry.path, target: entry.symlink };
    if (entry.directory) return { kind: 'dir', path: entry.path, mode: mode ?? 0o755 };
    if (entry.source !== undefined) {
      const source = resolve(specDir, entry.source);
      if (!existsSync(source))
        throw new UserError(`image.yml's files entry ${entry.path} names ${entry.source}, which is not there`, `Create ${source}, or fix the entry.`);
      return { kind: 'file', path: entry.path, mode: mode ?? 0o644, source };
    }
    return { kind: 'data', path: entry.path, mode: mode ?? 0o644, contents: Buffer.from(entry.contents ?? '') };
  });
}

/**
 * `npm run image`: the kernel of the Debian package image.yml names, an
 * initrd (newc cpio) holding the project's init, the modules the image
 * needs with their dependencies, the bundles' files in /usr/bin, the
 * preloaded images and image.yml's files, and the kernel's command line,
 * into bundles/image/ with sidecars and a manifest. The image is keyed by
 * everything that goes into it: the same inputs are a no-op; a new image
 * replaces the old one in one rename.
 */
export async function buildImage(options: ImageBuildOptions): Promise<BuiltImage> {
  const started = Date.now();
  const { spec, env, onEvent } = options;
  if (spec.outputs.compression === 'zstd') {
    const install = installPolicy(env, (packages) => onEvent({ type: 'installing', packages }));
    await ensureRequirements([{ kind: 'command', command: 'zstd', aptPackage: 'zstd', why: 'compressing the initrd' }], install);
  }
  const bundles = initBundles(spec).map((name) => bundleInput(options.bundlesDir, name));
  const kernelPackage: KernelPackage = await resolveKernelPackage(spec.kernel.package, env, options.cacheDir);
  onEvent({ type: 'kernel', package: kernelPackage.package, version: kernelPackage.version, requested: kernelPackage.requested });

  const root = imageDir(options.bundlesDir);
  const generations = join(options.bundlesDir, '.image-generations');
  await mkdir(generations, { recursive: true });
  const work = await mkdtemp(join(generations, `.work-${process.pid}-`));
  try {
    const { path: initPath, ...init } = await buildInit(options.initSource, options.cacheDir, env);
    const key = sha256Text(
      JSON.stringify({
        layout: LAYOUT_VERSION,
        spec,
        kernel: kernelPackage,
        init: init.sha256,
        bundles: bundles.map(({ name, files }) => ({ name, files })),
        images: options.images.map(({ tags, key }) => ({ tags, key })),
        files: await Promise.all(spec.files.filter((entry) => entry.source).map(async (entry) => sha256File(resolve(options.specDir, entry.source ?? '')))),
      }),
    );
    const current = readImageManifest(root);
    if (current?.key === key && (await intact(root, current))) {
      onEvent({ type: 'unchanged', dir: root, key });
      return { dir: root, manifest: current };
    }

    const tree = await ensureKernelTree(kernelPackage, options.cacheDir, env);
    const modules = await moduleClosure(tree, spec.kernel.modules);
    const autoload = await autoloadModules(tree, spec.kernel.autoload);
    const moduleIndex = spec.kernel.autoload.length > 0 ? `lib/modules/${tree.release}/moby-make.modules.json` : '';
    const out = join(work, 'out');
    await mkdir(out);
    const entries: CpioEntry[] = [
      { kind: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
      { kind: 'file', path: 'init', mode: 0o755, source: initPath },
      {
        kind: 'data',
        path: 'etc/moby-make/image.json',
        mode: 0o644,
        contents: Buffer.from(`${JSON.stringify(initConfig(spec, modules, options.images, moduleIndex && `/${moduleIndex}`), null, 2)}\n`),
      },
      ...[...new Set([...modules, ...autoload.files])].map((path): CpioEntry => ({ kind: 'file', path, mode: 0o644, source: join(tree.dir, path) })),
      ...(moduleIndex ? [{ kind: 'data' as const, path: moduleIndex, mode: 0o644, contents: Buffer.from(`${JSON.stringify(autoload.index)}\n`) }] : []),
      ...bundles.flatMap(({ dir, files }) =>
        Object.keys(files).map((name): CpioEntry => ({ kind: 'file', path: `usr/bin/${name}`, mode: 0o755, source: join(dir, name) })),
      ),
      ...options.images.flatMap((image) => listTree(image.dir, imagePath(image))),
      ...specFiles(spec, options.specDir),
    ];
    await writeCpio(entries, join(out, 'initrd.img'), { mtime: 0, compression: spec.outputs.compression });
    await writeFile(join(out, 'kernel'), await readFile(tree.vmlinuz));
    await writeFile(join(out, 'cmdline'), `${spec.kernel.cmdline}\n`);

    const files: ImageManifest['files'] = {};
    for (const name of IMAGE_FILES) {
      const digests = await digestFile(join(out, name));
      await writeFile(join(out, `${name}.sha256`), sidecarLine(digests.sha256, name));
      await writeFile(join(out, `${name}.md5`), sidecarLine(digests.md5, name));
      files[name] = { sha256: digests.sha256, size: (await stat(join(out, name))).size };
    }
    const manifest: ImageManifest = {
      key,
      kernel: { ...kernelPackage, release: tree.release },
      modules,
      autoload: autoload.files,
      init,
      bundles: Object.fromEntries(bundles.map(({ name, files: bundleFiles }) => [name, bundleFiles])),
      images: options.images.map(({ tags, key: imageKey }) => ({ tags: [...tags], key: imageKey })),
      compression: spec.outputs.compression,
      files,
    };
    await writeFile(join(out, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    const digests = await digestFile(join(out, MANIFEST_FILE));
    await writeFile(join(out, `${MANIFEST_FILE}.sha256`), sidecarLine(digests.sha256, MANIFEST_FILE));
    await writeFile(join(out, `${MANIFEST_FILE}.md5`), sidecarLine(digests.md5, MANIFEST_FILE));
    await publish(out, root, generations);
    onEvent({ type: 'built', dir: root, key, files: entries.length, initrdBytes: files['initrd.img']?.size ?? 0, seconds: (Date.now() - started) / 1000 });
    return { dir: root, manifest };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The recorded files are there with their sizes (their sha256 is verify's to check: a no-op build must stay cheap). */
async function intact(dir: string, manifest: ImageManifest): Promise<boolean> {
  for (const [name, record] of Object.entries(manifest.files)) {
    const path = join(dir, name);
    if (!existsSync(path) || (await stat(path)).size !== record.size) return false;
  }
  return true;
}

/** The image's symlink moves to the new generation in one rename; older generations go. */
async function publish(ready: string, link: string, generations: string): Promise<void> {
  const id = `${Date.now().toString(36)}-${process.pid}`;
  const target = join(generations, id);
  await rename(ready, target);
  const temporary = `${link}.${id}`;
  await symlink(relative(dirname(link), target), temporary);
  await rename(temporary, link);
  for (const entry of await readdir(generations)) {
    if (entry !== id && !entry.startsWith('.work-')) await rm(join(generations, entry), { recursive: true, force: true });
  }
}
