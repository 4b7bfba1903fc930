import { nextSteps } from './cli/commands.js';
import { parseArgs } from 'node:util';
import { ensureFrozenImages, FROZEN_IMAGE_EXTRAS, FROZEN_IMAGES, type FrozenImageEvent } from '../testrunner/frozen-images/index.js';
import { connect, explain } from '../mobicli/daemon.js';
import { interruptSignal, runMain } from './cli/run-main.js';
import { createRenderer, outputMode } from './render/choose.js';
import { frozenImageLines } from './render/frozen-image-lines.js';
import { defaultCacheDir, devDaemonSocket } from './paths.js';

const HELP = `Usage: npm run frozen-images -- [--output tty|plain|json] [--no-install]

Makes the images moby's integration tests expect (no registry needed) and
loads the missing ones into the daemon at $DOCKER_HOST, or the dev daemon
(npm run dev-daemon) when DOCKER_HOST is unset:
  ${[...FROZEN_IMAGES, ...FROZEN_IMAGE_EXTRAS].join(' ')}
Each is made once per recipe and kept in $MOBY_MAKE_CACHE/frozen-images
(default ~/.cache/moby-make) as \`docker save\` output.

Options:
  --output MODE   tty or plain (lines), json (one JSON event per line)
  --no-install    never apt-get missing prerequisites (mmdebstrap, gcc, …)
  --help          this text`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
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
  const mode = outputMode(values.output, env);
  const renderer = createRenderer<FrozenImageEvent>(mode, { lines: frozenImageLines });
  const daemon = connect(env, devDaemonSocket(env));
  const { docker, where } = daemon;
  await docker.ping().catch((error: unknown) => Promise.reject(explain(error, daemon)));
  await ensureFrozenImages({ docker, cacheDir: defaultCacheDir(env), env, signal: interruptSignal(), onEvent: renderer.onEvent });
  await renderer.finished();
  if (mode !== 'json') console.log(`every frozen image is in the daemon at ${where}`);
  return 0;
}

await runMain(main);
