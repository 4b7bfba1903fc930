import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_BUNDLE, bundlePaths } from '../core/bundle-layout.js';
import { hostDebianRelease } from '../core/debian-base-image.js';
import { UserError } from '../core/errors.js';
import { run } from '../core/process.js';
import { installPolicy } from '../core/requirements.js';
import { buildDevImage, docker, ensureBaseImage, hostCaBundle, runArgs, type DevContainer } from '../devcontainer/dev-image.js';
import { defaultStateDir, dockerHostOf, stateLayout } from '../devdaemon/layout.js';
import { runMain } from './cli/run-main.js';
import { defaultBundlesDir, projectRoot } from './paths.js';
import { plainRenderer } from './render/plain.js';
import { shellLines } from './render/shell-lines.js';

const HELP = `Usage: npm run shell [-- command…]

Builds the dev image from Dockerfile.dev and runs it, privileged, with this
checkout mounted at the same path: a shell, or the command given
(e.g. npm run shell -- npm run make). moby's \`make shell\`.

Engine: DOCKER_HOST when set, else the dev daemon (npm run dev-daemon -- --detach).
Environment: BASE_DEBIAN_DISTRO (default: this machine's release, else bookworm).`;

/** Go settings the container must share with the host: which proxy, which checksum database. */
const GO_SETTINGS = ['GOPROXY', 'GOSUMDB', 'GONOSUMDB', 'GOPRIVATE', 'GONOPROXY'] as const;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args[0] === '--help' || args[0] === '-h') {
    console.log(HELP);
    return 0;
  }
  const env = process.env;
  const bundlesDir = defaultBundlesDir(env);
  const { onEvent } = plainRenderer(shellLines);
  const container: DevContainer = {
    projectRoot,
    docker: dockerCli(bundlesDir),
    dockerHost: env.DOCKER_HOST ?? devDaemonHost(bundlesDir),
    release: env.BASE_DEBIAN_DISTRO ?? hostDebianRelease() ?? 'bookworm',
    env,
    onEvent,
    install: installPolicy(env, (packages) => onEvent({ type: 'installing', packages })),
  };
  await ensureBaseImage(container);
  const tag = await buildDevImage(container);
  const command = args.length > 0 ? args : ['bash'];
  const argv = runArgs(container, {
    tag,
    command,
    tty: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    caBundle: hostCaBundle(env),
    passEnv: await hostFetchSettings(env),
  });
  return docker(container, argv, 'inherit');
}

/** The docker CLI built into bundles/binary-client, else one on PATH. */
function dockerCli(bundlesDir: string): string {
  const bundled = join(bundlePaths(bundlesDir, CLIENT_BUNDLE).current, 'docker');
  if (existsSync(bundled)) return bundled;
  const onPath = (process.env.PATH ?? '').split(':').find((dir) => dir && existsSync(join(dir, 'docker')));
  if (onPath) return join(onPath, 'docker');
  throw new UserError('no docker CLI: bundles/binary-client/docker is not built and there is none on PATH', 'Build it: npm run make -- --only cli');
}

function devDaemonHost(bundlesDir: string): string {
  const layout = stateLayout(defaultStateDir(bundlesDir, process.env));
  if (!existsSync(layout.socket)) {
    throw new UserError(
      `the dev daemon is not running (no ${layout.socket}) and DOCKER_HOST is not set`,
      'Start it: npm run dev-daemon -- --detach, or point DOCKER_HOST at an engine.',
    );
  }
  return dockerHostOf(layout);
}

/** Which Go proxy and checksum database, which npm registry: the container fetches where the host does. */
async function hostFetchSettings(env: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  const result = await run(['go', 'env', '-json', ...GO_SETTINGS], { env });
  const settings = result.exitCode === 0 ? (JSON.parse(result.stdout) as Record<string, string>) : {};
  const registry = await run(['npm', 'config', 'get', 'registry'], { env });
  return { ...settings, ...(registry.exitCode === 0 ? { npm_config_registry: registry.stdout.trim() } : {}) };
}

await runMain(main);
