import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { hostDebianRelease, makeDebianRootfsTar } from '../core/debian-base-image.js';
import type { Env } from '../core/env.js';
import { describeError, UserError } from '../core/errors.js';
import type { RemoteImages } from '../core/remote-images.js';
import type { RemoteNotice } from '../core/remote-outputs.js';
import type { InstallPolicy } from '../core/requirements.js';
import { DEV_IMAGE_KEY_LABEL, devImageKey, engineImageKey, offerDevImage, pullDevImage } from './dev-image-remote.js';

/** Everything `npm run shell` tells its user, as data. */
export type DevContainerEvent =
  | { type: 'installing'; packages: readonly string[] }
  /** No `debian:<release>` in the engine and no registry: it is made from this machine's Debian mirror. */
  | { type: 'making-base'; image: string }
  | { type: 'base-made'; image: string; seconds: number }
  | { type: 'building'; image: string; engine: string; key: string }
  /** The engine's image was built (here or elsewhere) from this very Dockerfile.dev: nothing to build. */
  | { type: 'dev-image-current'; image: string; key: string }
  | { type: 'dev-image-pulled'; image: string; ref: string; seconds: number }
  | { type: 'dev-image-pushed'; image: string; ref: string }
  /** The shared cache's image could not be loaded: said, and built here instead. */
  | { type: 'dev-image-load-failed'; image: string; reason: string }
  | { type: 'cache'; notice: RemoteNotice };

export interface DevContainer {
  projectRoot: string;
  /** The docker CLI that talks to the engine. */
  docker: string;
  /** The engine: unix:///…/docker.sock of the dev daemon, or the user's DOCKER_HOST. */
  dockerHost: string;
  release: string;
  env: Env;
  onEvent: (event: DevContainerEvent) => void;
  install: InstallPolicy;
  /** The shared cache registry, when MOBY_MAKE_CACHE_REGISTRY names one. */
  remote?: RemoteImages;
}

export const DEV_IMAGE = 'moby-make-dev';
/** Named volumes, as moby's Makefile keeps its dev container's caches. */
export const CACHE_VOLUMES = {
  cache: '/root/.cache',
  gomod: '/root/go/pkg/mod',
} as const;

export function devImageTag(release: string): string {
  return `${DEV_IMAGE}:${release}`;
}

/** The CA bundle the host trusts: the same file its Go and npm use. */
export function hostCaBundle(env: Env): string {
  const bundle = env.SSL_CERT_FILE ?? '/etc/ssl/certs/ca-certificates.crt';
  if (!existsSync(bundle)) {
    throw new UserError(
      `the host's CA bundle ${bundle} does not exist`,
      'Set SSL_CERT_FILE to the CA bundle this machine trusts (Debian: install ca-certificates).',
    );
  }
  return bundle;
}

/** The docker CLI with the engine chosen: its exit code, its output passed through to ours. */
export function docker(
  container: Pick<DevContainer, 'docker' | 'dockerHost' | 'env'>,
  args: string[],
  stdio: 'inherit' | 'to-stderr' | 'quiet' = 'to-stderr',
): Promise<number> {
  const child = spawn(container.docker, args, {
    env: { ...container.env, DOCKER_HOST: container.dockerHost },
    stdio: stdio === 'inherit' ? 'inherit' : ['ignore', stdio === 'quiet' ? 'ignore' : process.stderr, stdio === 'quiet' ? 'ignore' : process.stderr],
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/**
 * `debian:<release>` in the engine: already there, or made here from the
 * machine's Debian mirror with mmdebstrap and imported (no registry is needed).
 */
export async function ensureBaseImage(container: DevContainer): Promise<void> {
  const image = `debian:${container.release}`;
  if ((await docker(container, ['image', 'inspect', image], 'quiet')) === 0) return;
  if (!hostDebianRelease()) {
    if ((await docker(container, ['pull', image])) === 0) return;
    throw new UserError(`cannot get ${image}: the engine cannot pull it and this machine is not Debian (no mirror to make it from)`);
  }
  container.onEvent({ type: 'making-base', image });
  const started = Date.now();
  const { tar, cleanUp } = await makeDebianRootfsTar(container.release, container.env, container.install);
  try {
    const code = await importImage(container, tar, image);
    if (code !== 0) throw new UserError(`docker import of ${image} failed (exit ${code})`);
  } finally {
    await cleanUp();
  }
  container.onEvent({ type: 'base-made', image, seconds: (Date.now() - started) / 1000 });
}

function importImage(container: DevContainer, tar: string, image: string): Promise<number> {
  const child = spawn(container.docker, ['import', '--change', 'CMD ["bash"]', '-', image], {
    env: { ...container.env, DOCKER_HOST: container.dockerHost },
    stdio: ['pipe', process.stderr, process.stderr],
  });
  createReadStream(tar).pipe(child.stdin);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/**
 * The dev image in the engine, for this Dockerfile.dev: the engine's own when
 * its label says it was built from the same inputs, else the shared cache's
 * (docker load), else `docker build` on `debian:<release>`, which a pushing
 * run then offers to the cache. Its tag.
 */
export async function ensureDevImage(container: DevContainer): Promise<string> {
  const tag = devImageTag(container.release);
  const key = await devImageKey(container.projectRoot, container.release);
  const entry = { release: container.release, key, tag };
  const { remote } = container;
  if ((await engineImageKey(container, tag)) === key) {
    container.onEvent({ type: 'dev-image-current', image: tag, key });
  } else if (!(remote && (await pulledFromCache(container, remote, entry)))) {
    await ensureBaseImage(container);
    await buildDevImage(container, tag, key);
  }
  if (remote?.pushing) {
    const pushed = await offerDevImage(container, remote, entry).catch((error: unknown) => {
      container.onEvent({ type: 'cache', notice: { kind: 'push-failed', store: remote.name, component: tag, reason: describeError(error) } });
      return undefined;
    });
    if (pushed) container.onEvent({ type: 'dev-image-pushed', image: tag, ref: pushed });
  }
  return tag;
}

async function pulledFromCache(container: DevContainer, remote: RemoteImages, entry: { release: string; key: string; tag: string }): Promise<boolean> {
  const started = performance.now();
  try {
    const ref = await pullDevImage(container, remote, entry);
    if (ref) container.onEvent({ type: 'dev-image-pulled', image: entry.tag, ref, seconds: (performance.now() - started) / 1000 });
    return ref !== undefined;
  } catch (error) {
    container.onEvent({ type: 'dev-image-load-failed', image: entry.tag, reason: describeError(error) });
    return false;
  }
}

/** `docker build -f Dockerfile.dev`, labelled with its key (the engine's cache makes a rebuild with nothing changed take a second). */
async function buildDevImage(container: DevContainer, tag: string, key: string): Promise<void> {
  container.onEvent({ type: 'building', image: tag, engine: container.dockerHost, key });
  const code = await docker(container, [
    'build',
    '--quiet',
    '-f',
    join(container.projectRoot, 'Dockerfile.dev'),
    '--build-arg',
    `BASE_DEBIAN_DISTRO=${container.release}`,
    '--label',
    `${DEV_IMAGE_KEY_LABEL}=${key}`,
    '-t',
    tag,
    container.projectRoot,
  ]);
  if (code !== 0) throw new UserError(`building ${tag} from Dockerfile.dev failed (exit ${code})`, 'The output above says which step.');
}

/**
 * `docker run` of the dev image, as moby's `make shell`: privileged, the
 * checkout mounted at the same path (so bundles/ paths mean the same inside),
 * caches in named volumes, node_modules in a volume of its own (a host's may
 * be for another platform), the host's CA bundle read-only, and the host's Go
 * and npm settings (which proxy, which checksum database) passed on.
 */
export function runArgs(
  container: DevContainer,
  options: { tag: string; command: string[]; tty: boolean; caBundle: string; passEnv: Record<string, string> },
): string[] {
  const { projectRoot, release } = container;
  const passed = Object.entries(options.passEnv).filter(([, value]) => value !== '');
  return [
    'run',
    '--rm',
    '-i',
    ...(options.tty ? ['-t'] : []),
    '--privileged',
    '-v',
    `${projectRoot}:${projectRoot}`,
    '-w',
    projectRoot,
    '-v',
    `${DEV_IMAGE}-cache:${CACHE_VOLUMES.cache}`,
    '-v',
    `${DEV_IMAGE}-gomod:${CACHE_VOLUMES.gomod}`,
    '-v',
    `${DEV_IMAGE}-node-modules-${release}:${join(projectRoot, 'node_modules')}`,
    '-v',
    `${options.caBundle}:/etc/ssl/certs/ca-certificates.crt:ro`,
    ...passed.flatMap(([name, value]) => ['-e', `${name}=${value}`]),
    options.tag,
    ...options.command,
  ];
}
