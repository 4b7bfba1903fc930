import { nextSteps } from './cli/commands.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyBundle } from '../builder/rebuild/verify.js';
import { bundlePaths } from '../core/bundle-layout.js';
import { MANIFEST_FILE } from '../core/manifest.js';
import { interruptSignal, parseList, runMain } from './cli/run-main.js';
import { createRenderer, outputMode } from './render/choose.js';
import { verifyLines, verifyRows } from './render/verify-lines.js';
import { defaultBundlesDir, defaultCacheDir } from './paths.js';

const HELP = `Usage: npm run verify-bundle -- [options]

Rebuilds every file of a bundle from its manifest.json alone and compares
sha256s: fetches each recorded source by its identity (verified as make does),
checks the toolchain is the recorded one, replays the recorded commands with
sh -c in a fresh temporary folder with an empty Go build cache, and prints a
row per file: reproduced, or DIFFERS with both digests. Exit 1 when any file
differs or a component cannot be replayed. Nothing is written into the bundle.

Options:
  --manifest PATH  a manifest.json or a bundle folder (default: bundles/binary-daemon/manifest.json)
  --only a,b       replay only these components (default: all recorded)
  --keep           keep the temporary folder (outputs, logs) and print where it is
  --output MODE    tty (rows), plain (a line per event) or json (an event per line)
  --verbose        show stack traces for unexpected errors
  --help           this text

Environment: TMPDIR (where the temporary folder goes), MOBY_MAKE_BUNDLES,
  MOBY_MAKE_CACHE (the download cache shared with make).`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      manifest: { type: 'string' },
      only: { type: 'string' },
      keep: { type: 'boolean', default: false },
      output: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP + nextSteps('verify-bundle'));
    return 0;
  }
  const env = process.env;
  const manifest = values.manifest ? resolve(values.manifest) : join(bundlePaths(defaultBundlesDir(env)).current, MANIFEST_FILE);
  const renderer = createRenderer(outputMode(values.output, env), { lines: verifyLines, rows: verifyRows });
  const result = await verifyBundle({
    manifest,
    only: parseList(values.only),
    cacheDir: defaultCacheDir(env),
    tempRoot: tmpdir(),
    keep: values.keep,
    env,
    signal: interruptSignal(),
    onEvent: renderer.onEvent,
  });
  await renderer.finished();
  return result.differing.length > 0 || result.failed.length > 0 ? 1 : 0;
}

await runMain(main);
