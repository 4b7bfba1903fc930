import { nextSteps } from './cli/commands.js';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { DEV_IMAGE_VARIABLE } from '../core/bundle-layout.js';
import { parseArgs } from 'node:util';
import { UserError } from '../core/errors.js';
import { make } from '../builder/make.js';
import type { ResolvedSource } from '../builder/model.js';
import { cacheConfig } from '../cache/config.js';
import { RegistryComponentStore } from '../cache/component-store.js';
import { interruptSignal, parseList, runMain } from './cli/run-main.js';
import { createRenderer, outputMode } from './render/choose.js';
import { makeLines, makeRows } from './render/make-lines.js';
import { crossLines, type CrossEvent } from './render/cross-lines.js';
import { makeCross } from './lib/make-cross.js';
import { parsePlatforms, type Platform } from '../core/platform.js';
import { defaultBundlesDir, defaultCacheDir, projectRoot } from './paths.js';

const HELP = `Usage: npm run make -- [options]

Builds the daemon stack from pinned sources into bundles/binary-daemon, and
the docker CLI into bundles/binary-client.

Options:
  --only a,b       build only these components (default: all)
  --dynamic        dynamic PIE binaries (moby's dynbinary) instead of static ones
  --jobs N         components built at once (default: ${availableParallelism()})
  --no-install     never apt-get missing prerequisites; print the command instead
  --verbose        show stack traces for unexpected errors
  --output MODE    tty (rows), plain (a line per event) or json (an event per line);
                   default: tty on a terminal, plain in CI and pipes
  --in-container   build inside the dev image (Dockerfile.dev, see npm run shell)
                   and publish to this checkout's bundles/
  --platform LIST  build for these platforms too, each into bundles/cross/<os>-<arch>[-<variant>]/
                   (default: $MOBY_MAKE_PLATFORMS, else this machine only), comma or space
                   separated: linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6 linux/arm/v5
                   linux/ppc64le linux/s390x, local (this machine, into bundles/)
  --smoke          after a cross build, check every binary's ELF header and run its
                   --version under QEMU (qemu-user-static), as moby's binary-smoketest
  --allow-multiarch
                   let apt install a target's libraries (libseccomp-dev:arm64) by adding
                   the architecture to dpkg (dpkg --add-architecture; apt sources unchanged)
  --cache-registry host[:port]/repo
                   the shared cache on an OCI registry (default:
                   $MOBY_MAKE_CACHE_REGISTRY): components are taken from it
                   when their fingerprint is there, and pushed to it when
                   MOBY_MAKE_CACHE_PUSH=1
  --help           this text

Developer options:
  --components DIR  component declarations (default: components/)
  --bundles DIR     bundles root (default: bundles/, or $MOBY_MAKE_BUNDLES)

Environment: DAEMON_VERSION CONTAINERD_VERSION RUNC_VERSION ROOTLESSKIT_VERSION
  TINI_VERSION DOCKERCLI_VERSION pin versions (with <NAME>_COMMIT for versions
  not pinned here); DAEMON_SRC CONTAINERD_SRC RUNC_SRC ROOTLESSKIT_SRC TINI_SRC
  DOCKERCLI_SRC build local
  checkouts; <COMPONENT>_SOURCE (e.g. INIT_SOURCE=debian-source) forces a
  source kind; VERSION DOCKER_GITCOMMIT
  DOCKER_BUILDTAGS DOCKER_LDFLAGS DOCKER_DEBUG DOCKER_STATIC as in moby's
  hack/make.sh; SOURCE_DATE_EPOCH sets BuildTime; MOBY_MAKE_NO_INSTALL=1 stops
  apt-get installs of missing prerequisites. The shared cache: credentials from
  MOBY_MAKE_CACHE_USER/MOBY_MAKE_CACHE_PASSWORD or the docker CLI's
  config.json; MOBY_MAKE_CACHE_CA adds a CA file to the system's;
  MOBY_MAKE_CACHE_TIMEOUT (seconds, default 10) bounds each call.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      dynamic: { type: 'boolean', default: false },
      jobs: { type: 'string' },
      'no-install': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      components: { type: 'string' },
      bundles: { type: 'string' },
      output: { type: 'string' },
      'in-container': { type: 'boolean', default: false },
      'cache-registry': { type: 'string' },
      platform: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      'allow-multiarch': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP + nextSteps('make'));
    return 0;
  }
  const jobs = values.jobs === undefined ? availableParallelism() : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UserError(`--jobs ${values.jobs} is not a positive whole number`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...(values['no-install'] ? { MOBY_MAKE_NO_INSTALL: '1' } : {}),
    ...(values['allow-multiarch'] ? { MOBY_MAKE_ALLOW_MULTIARCH: '1' } : {}),
  };
  const bundlesDir = values.bundles ? resolve(values.bundles) : defaultBundlesDir(env);
  if (values['in-container']) return makeInContainer(bundlesDir, env);
  const mode = outputMode(values.output, env);
  const cache = cacheConfig(env, values['cache-registry']);
  const signal = interruptSignal();
  const componentsDir = values.components ? resolve(values.components) : join(projectRoot, 'components');
  const only = parseList(values.only);
  const dynamic = values.dynamic || env.DOCKER_STATIC === '0';
  // One command's platforms build the same source trees: each is resolved and verified once.
  const resolved = new Map<string, Promise<ResolvedSource>>();
  /** One make into one bundles root, with its own renderer (a cross build's rows are its platform's). */
  const build = async (options: { bundlesDir: string; platform?: Platform; only?: string[] }) => {
    const renderer = createRenderer(mode, { lines: makeLines(values.verbose), rows: makeRows(values.verbose) });
    const remote = cache ? await RegistryComponentStore.open(cache, env, (notice) => renderer.onEvent({ type: 'cache', notice })) : undefined;
    const result = await make({
      componentsDir,
      cacheDir: defaultCacheDir(env),
      dynamic,
      jobs,
      env,
      signal,
      onEvent: renderer.onEvent,
      resolved,
      ...(remote ? { remote } : {}),
      ...options,
    });
    await renderer.finished();
    return result;
  };
  const platformList = values.platform ?? (env.MOBY_MAKE_PLATFORMS?.trim() || undefined);
  if (platformList === undefined) {
    if (values.smoke) throw new UserError('--smoke tests a cross build', 'Name the platforms: npm run make -- --platform linux/arm64 --smoke');
    const result = await build({ bundlesDir, ...(only ? { only } : {}) });
    return result.failed.length > 0 ? 1 : 0;
  }
  const crossEvents = createRenderer<CrossEvent>(mode, { lines: crossLines });
  const code = await makeCross(parsePlatforms(platformList), {
    bundlesDir,
    componentsDir,
    env,
    dynamic,
    only,
    smoke: values.smoke,
    build,
    onEvent: crossEvents.onEvent,
  });
  await crossEvents.finished();
  return code;
}

/** Variables that choose what is built, passed on into the dev container. */
const BUILD_VARIABLES =
  /^((DAEMON|CONTAINERD|RUNC|ROOTLESSKIT|TINI|DOCKERCLI)_\w+|[A-Z]+_SOURCE|VERSION|DOCKER_(GITCOMMIT|BUILDTAGS|LDFLAGS|DEBUG|STATIC)|PLATFORM|PRODUCT|DEFAULT_PRODUCT_LICENSE|SOURCE_DATE_EPOCH|MOBY_MAKE_BUNDLES|MOBY_MAKE_NO_INSTALL|MOBY_MAKE_PLATFORMS|MOBY_MAKE_ALLOW_MULTIARCH)$/;

/**
 * The same command inside the dev image (Dockerfile.dev), writing to this
 * checkout's bundles/ through the mount: the same publish, so the same
 * guarantees; the image id joins each component's toolchain.
 */
async function makeInContainer(bundlesDir: string, env: NodeJS.ProcessEnv): Promise<number> {
  if (relative(projectRoot, bundlesDir).startsWith('..')) {
    throw new UserError(
      `--in-container needs the bundles folder inside the checkout (${bundlesDir} is not)`,
      'Only the checkout is mounted into the dev container.',
    );
  }
  // Loaded here, not at the top: the engine's client (dockerode, grpc, ssh2) costs every other make a tenth of a second to load.
  const { openDevSession, runInDevSession } = await import('./cli/dev-container-session.js');
  // The engine and the docker CLI are the usual ones (the dev daemon of bundles/), whatever bundles folder is built.
  const session = await openDevSession(projectRoot, defaultBundlesDir(env), env, interruptSignal());
  const passed = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => BUILD_VARIABLES.test(entry[0]) && entry[1] !== undefined));
  const args = process.argv.slice(2).filter((arg) => arg !== '--in-container');
  return runInDevSession(session, ['npm', 'run', '-s', 'make', '--', ...args], { ...passed, [DEV_IMAGE_VARIABLE]: session.imageId });
}

await runMain(main);
