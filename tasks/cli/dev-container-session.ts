import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_BUNDLE, bundlePaths } from '../../core/bundle-layout.js';
import { hostDebianRelease } from '../../core/debian-base-image.js';
import type { Env } from '../../core/env.js';
import { UserError } from '../../core/errors.js';
import { run } from '../../core/process.js';
import { installPolicy } from '../../core/requirements.js';
import { docker, ensureDevImage, hostCaBundle, runArgs, type DevContainer } from '../../devcontainer/dev-image.js';
import { openRemoteImages } from '../lib/remote-images.js';
import { shellEngine } from '../lib/shell-engine.js';
import { plainRenderer } from '../render/plain.js';
import { shellLines } from '../render/shell-lines.js';

/** Go settings the container must share with the host: which proxy, which checksum database. */
const GO_SETTINGS = ['GOPROXY', 'GOSUMDB', 'GONOSUMDB', 'GOPRIVATE', 'GONOPROXY'] as const;

/** A built dev image on the chosen engine, ready to run commands in. */
export interface DevSession {
  container: DevContainer;
  tag: string;
  imageId: string;
}

/** The engine (DOCKER_HOST, else the dev daemon, started when it is not running), the base image, then `docker build` of Dockerfile.dev. */
export async function openDevSession(projectRoot: string, bundlesDir: string, env: Env, signal: AbortSignal): Promise<DevSession> {
  const { onEvent } = plainRenderer(shellLines);
  const engine = await shellEngine(bundlesDir, env, signal);
  const remote = await openRemoteImages(env, (notice) => onEvent({ type: 'cache', notice }));
  if (engine.started) onEvent({ type: 'dev-daemon-started', ...engine.started });
  const container: DevContainer = {
    projectRoot,
    docker: dockerCli(bundlesDir, env),
    dockerHost: engine.dockerHost,
    release: env.BASE_DEBIAN_DISTRO ?? hostDebianRelease() ?? 'bookworm',
    env,
    onEvent,
    install: installPolicy(env, (packages) => onEvent({ type: 'installing', packages })),
    ...(remote ? { remote } : {}),
  };
  const tag = await ensureDevImage(container);
  const inspected = await run([container.docker, 'image', 'inspect', '--format', '{{.Id}}', tag], { env: { ...env, DOCKER_HOST: container.dockerHost } });
  return { container, tag, imageId: inspected.stdout.trim() };
}

/** Runs a command in the dev container; its exit code is ours. */
export async function runInDevSession(session: DevSession, command: string[], extraEnv: Record<string, string> = {}): Promise<number> {
  const { container, tag } = session;
  const argv = runArgs(container, {
    tag,
    command,
    tty: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    caBundle: hostCaBundle(container.env),
    passEnv: { ...(await hostFetchSettings(container.env)), ...extraEnv },
  });
  return docker(container, argv, 'inherit');
}

/** The docker CLI built into bundles/binary-client, else one on PATH. */
export function dockerCli(bundlesDir: string, env: Env): string {
  const bundled = join(bundlePaths(bundlesDir, CLIENT_BUNDLE).current, 'docker');
  if (existsSync(bundled)) return bundled;
  const onPath = (env.PATH ?? '').split(':').find((dir) => dir && existsSync(join(dir, 'docker')));
  if (onPath) return join(onPath, 'docker');
  throw new UserError('no docker CLI: bundles/binary-client/docker is not built and there is none on PATH', 'Build it: npm run make -- --only cli');
}

/** Which Go proxy and checksum database, which npm registry: the container fetches where the host does. */
async function hostFetchSettings(env: Env): Promise<Record<string, string>> {
  const result = await run(['go', 'env', '-json', ...GO_SETTINGS], { env });
  const settings = result.exitCode === 0 ? (JSON.parse(result.stdout) as Record<string, string>) : {};
  const registry = await run(['npm', 'config', 'get', 'registry'], { env });
  return { ...settings, ...(registry.exitCode === 0 ? { npm_config_registry: registry.stdout.trim() } : {}) };
}
