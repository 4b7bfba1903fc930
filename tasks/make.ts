import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UserError } from '../core/errors.js';
import { make } from '../build/make.js';
import { interruptSignal, parseList, runMain } from './cli/run-main.js';
import { createRenderer, outputMode } from './render/choose.js';
import { makeLines, makeRows } from './render/make-lines.js';
import { defaultBundlesDir, defaultCacheDir, projectRoot } from './paths.js';

const HELP = `Usage: npm run make -- [options]

Builds the daemon stack from pinned sources into bundles/binary-daemon.

Options:
  --only a,b       build only these components (default: all)
  --dynamic        dynamic PIE binaries (moby's dynbinary) instead of static ones
  --jobs N         components built at once (default: ${availableParallelism()})
  --no-install     never apt-get missing prerequisites; print the command instead
  --verbose        show stack traces for unexpected errors
  --output MODE    tty (rows), plain (a line per event) or json (an event per line);
                   default: tty on a terminal, plain in CI and pipes
  --help           this text

Developer options:
  --components DIR  component declarations (default: components/)
  --bundles DIR     bundles root (default: bundles/, or $MOBY_MAKE_BUNDLES)

Environment: DAEMON_VERSION CONTAINERD_VERSION RUNC_VERSION ROOTLESSKIT_VERSION
  TINI_VERSION pin versions (with <NAME>_COMMIT for versions not pinned here);
  DAEMON_SRC CONTAINERD_SRC RUNC_SRC ROOTLESSKIT_SRC TINI_SRC build local
  checkouts; <COMPONENT>_SOURCE (e.g. INIT_SOURCE=debian-source) forces a
  source kind; VERSION DOCKER_GITCOMMIT
  DOCKER_BUILDTAGS DOCKER_LDFLAGS DOCKER_DEBUG DOCKER_STATIC as in moby's
  hack/make.sh; SOURCE_DATE_EPOCH sets BuildTime; MOBY_MAKE_NO_INSTALL=1 stops
  apt-get installs of missing prerequisites.`;

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
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const jobs = values.jobs === undefined ? availableParallelism() : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UserError(`--jobs ${values.jobs} is not a positive whole number`);
  const env = values['no-install'] ? { ...process.env, MOBY_MAKE_NO_INSTALL: '1' } : process.env;
  const bundlesDir = values.bundles ? resolve(values.bundles) : defaultBundlesDir(env);
  const renderer = createRenderer(outputMode(values.output, env), { lines: makeLines(values.verbose), rows: makeRows(values.verbose) });
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
  });
  await renderer.finished();
  return result.failed.length > 0 ? 1 : 0;
}

await runMain(main);
