import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { hostDebianRelease, makeDebianRootfsTar } from '../core/debian-base-image.js';
import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import type { InstallPolicy } from '../core/requirements.js';

/** Everything `npm run shell` tells its user, as data. */
export type DevContainerEvent =
  | { type: 'installing'; packages: readonly string[] }
  /** No `debian:<release>` in the engine and no registry: it is made from this machine's Debian mirror. */
  | { type: 'making-base'; image: string }
  | { type: 'base-made'; image: string; seconds: number }
  | { type: 'building'; image: string; engine: string };

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

/** `docker build -f Dockerfile.dev` (cached by the engine: a rebuild with nothing changed takes a second). */
export async function buildDevImage(container: DevContainer): Promise<string> {
  const tag = devImageTag(container.release);
  container.onEvent({ type: 'building', image: tag, engine: container.dockerHost });
  const code = await docker(container, [
    'build',
    '--quiet',
    '-f',
    join(container.projectRoot, 'Dockerfile.dev'),
    '--build-arg',
    `BASE_DEBIAN_DISTRO=${container.release}`,
    '-t',
    tag,
    container.projectRoot,
  ]);
  if (code !== 0) throw new UserError(`building ${tag} from Dockerfile.dev failed (exit ${code})`, 'The output above says which step.');
  return tag;
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
