import { nextSteps } from './cli/commands.js';
import { openRemoteImages } from './lib/remote-images.js';
import { parseArgs } from 'node:util';
import {
  ensureFrozenImages,
  FROZEN_IMAGE_EXTRAS,
  FROZEN_IMAGES,
  makeFrozenArchives,
  recipesFor,
  type FrozenImageEvent,
} from '../testrunner/frozen-images/index.js';
import { connect, explain } from '../mobicli/daemon.js';
import { interruptSignal, parseList, runMain } from './cli/run-main.js';
import { createRenderer, outputMode } from './render/choose.js';
import { frozenImageLines } from './render/frozen-image-lines.js';
import { defaultCacheDir, devDaemonSocket } from './paths.js';

const HELP = `Usage: npm run frozen-images -- [--only IMAGE,...] [--no-load] [--cache-registry host[:port]/repo] [--output tty|plain|json] [--no-install]

Makes the images moby's integration tests expect (no registry needed) and
loads the missing ones into the daemon at $DOCKER_HOST, or the dev daemon
(npm run dev-daemon) when DOCKER_HOST is unset:
  ${[...FROZEN_IMAGES, ...FROZEN_IMAGE_EXTRAS].join(' ')}
Each is made once per recipe and kept in $MOBY_MAKE_CACHE/frozen-images
(default ~/.cache/moby-make) as \`docker save\` output.

With MOBY_MAKE_CACHE_REGISTRY (or --cache-registry) set, an image the shared
cache holds for the same recipe key is taken from it (each blob checked
against its digest) instead of made; with MOBY_MAKE_CACHE_PUSH=1 what is made
or cached here is offered to it (docs/shared-cache.md).

Options:
  --only LIST     these images only (comma-separated tags)
  --no-load       make (or take from the shared cache) without loading: no daemon needed
  --cache-registry host[:port]/repo
                  the shared cache, instead of $MOBY_MAKE_CACHE_REGISTRY
  --output MODE   tty or plain (lines), json (one JSON event per line)
  --no-install    never apt-get missing prerequisites (mmdebstrap, gcc, …)
  --help          this text`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      'no-load': { type: 'boolean', default: false },
      'cache-registry': { type: 'string' },
      output: { type: 'string' },
      'no-install': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP + nextSteps('frozen-images'));
    return 0;
  }
  const env = values['no-install'] ? { ...process.env, MOBY_MAKE_NO_INSTALL: '1' } : process.env;
  const only = parseList(values.only);
  const recipes = only ? recipesFor(only, '--only') : undefined;
  const mode = outputMode(values.output, env);
  const renderer = createRenderer<FrozenImageEvent>(mode, { lines: frozenImageLines });
  const remote = await openRemoteImages(env, (notice) => renderer.onEvent({ type: 'cache', notice }), values['cache-registry']);
  const options = {
    cacheDir: defaultCacheDir(env),
    env,
    signal: interruptSignal(),
    onEvent: renderer.onEvent,
    ...(recipes ? { recipes } : {}),
    ...(remote ? { remote } : {}),
  };
  if (values['no-load']) {
    const archives = await makeFrozenArchives(options);
    await renderer.finished();
    if (mode !== 'json') console.log(`${archives.length} frozen image${archives.length === 1 ? '' : 's'} in ${options.cacheDir}/frozen-images`);
    return 0;
  }
  const daemon = connect(env, devDaemonSocket(env));
  const { docker, where } = daemon;
  await docker.ping().catch((error: unknown) => Promise.reject(explain(error, daemon)));
  await ensureFrozenImages({ docker, ...options });
  await renderer.finished();
  if (mode !== 'json') console.log(`every frozen image is in the daemon at ${where}`);
  return 0;
}

await runMain(main);
