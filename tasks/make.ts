import { nextSteps } from './cli/commands.js';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { DEV_IMAGE_VARIABLE } from '../core/bundle-layout.js';
import { parseArgs } from 'node:util';
import { UserError } from '../core/errors.js';
import { make } from '../builder/make.js';
import { cacheConfig } from '../cache/config.js';
import { RegistryComponentStore } from '../cache/component-store.js';
import { openDevSession, runInDevSession } from './cli/dev-container-session.js';
import { interruptSignal, parseList, runMain } from './cli/run-main.js';
import { createRenderer, outputMode } from './render/choose.js';
import { makeLines, makeRows } from './render/make-lines.js';
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
  const env = values['no-install'] ? { ...process.env, MOBY_MAKE_NO_INSTALL: '1' } : process.env;
  const bundlesDir = values.bundles ? resolve(values.bundles) : defaultBundlesDir(env);
  if (values['in-container']) return makeInContainer(bundlesDir, env);
  const renderer = createRenderer(outputMode(values.output, env), { lines: makeLines(values.verbose), rows: makeRows(values.verbose) });
  const cache = cacheConfig(env, values['cache-registry']);
  const remote = cache ? await RegistryComponentStore.open(cache, env, (notice) => renderer.onEvent({ type: 'cache', notice })) : undefined;
  const result = await make({
    componentsDir: values.components ? resolve(values.components) : join(projectRoot, 'components'),
    bundlesDir,
    cacheDir: defaultCacheDir(env),
    only: parseList(values.only),
    dynamic: values.dynamic || env.DOCKER_STATIC === '0',
    jobs,
    env,
    signal: interruptSignal(),
    onEvent: renderer.onEvent,
    ...(remote ? { remote } : {}),
  });
  await renderer.finished();
  return result.failed.length > 0 ? 1 : 0;
}

/** Variables that choose what is built, passed on into the dev container. */
const BUILD_VARIABLES =
  /^((DAEMON|CONTAINERD|RUNC|ROOTLESSKIT|TINI|DOCKERCLI)_\w+|[A-Z]+_SOURCE|VERSION|DOCKER_(GITCOMMIT|BUILDTAGS|LDFLAGS|DEBUG|STATIC)|PLATFORM|PRODUCT|DEFAULT_PRODUCT_LICENSE|SOURCE_DATE_EPOCH|MOBY_MAKE_BUNDLES|MOBY_MAKE_NO_INSTALL)$/;

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
  // The engine and the docker CLI are the usual ones (the dev daemon of bundles/), whatever bundles folder is built.
  const session = await openDevSession(projectRoot, defaultBundlesDir(env), env, interruptSignal());
  const passed = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => BUILD_VARIABLES.test(entry[0]) && entry[1] !== undefined));
  const args = process.argv.slice(2).filter((arg) => arg !== '--in-container');
  return runInDevSession(session, ['npm', 'run', '-s', 'make', '--', ...args], { ...passed, [DEV_IMAGE_VARIABLE]: session.imageId });
}

await runMain(main);
