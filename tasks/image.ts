import { join, resolve } from 'node:path';
import { realpathSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bundlePaths, DAEMON_BUNDLE } from '../core/bundle-layout.js';
import { UsageError } from '../core/errors.js';
import { readManifest } from '../core/manifest.js';
import { findOnPath } from '../core/requirements.js';
import { runGuestJob } from '../image/job.js';
import { proveImage } from '../image/proof.js';
import { bootImage } from '../image/qemu.js';
import { nextSteps } from './cli/commands.js';
import { bootOptions, prepareImage } from './lib/image.js';
import { interruptSignal, runMain } from './cli/run-main.js';
import { defaultBundlesDir, defaultCacheDir, projectRoot } from './paths.js';
import { createRenderer, outputMode } from './render/choose.js';
import { imageLines, type ImageCommandEvent } from './render/image-lines.js';

const HELP = `Usage: npm run image -- [--file image.yml]
       npm run image -- run
       npm run image -- check
       npm run image -- exec -- COMMAND [ARG...]

Builds the machine image.yml describes (LinuxKit's shape: kernel, init,
onboot, services, images, files, outputs) into bundles/image/:
  kernel       Debian's kernel from the apt sources this machine uses (verified sha256)
  initrd.img   a reproducible newc cpio: the project's init (image/init), the kernel
               modules listed with their dependencies, the bundles' files in /usr/bin,
               the frozen images to preload, image.yml's files
  cmdline      the kernel's command line
with .sha256/.md5 sidecars and manifest.json. The image is keyed by all it
holds: unchanged inputs are a no-op.

run boots it with qemu-system-x86_64 — KVM when a probe boot shows it works,
emulation (TCG) otherwise — and prints DOCKER_HOST: the guest's dockerd as a
unix socket under bundles/image-run/ (QEMU forwards from this machine's
loopback only). The guest's console goes to bundles/image-run/console.log.
Ctrl-C powers the guest off; no qemu process is left.

check boots it, proves it as the dev daemon is proven (/_ping; /info with the
image's kernel, cgroup v2 and the bundle's runc, containerd, docker-init; a
container of busybox:latest prints), and powers it off.

exec runs a command of this machine's inside the guest, on the guest's kernel
and cgroup v2: the guest sees this machine's root read-only (9p) under an
overlay whose writes stay in guest memory, the command runs in the current
folder with this environment, its output comes here as it is written, and
its exit code is this command's (test-integration --vm is built on it).

Options:
  --file PATH     the image description (default: image.yml at the project root)
  --bundles DIR   the bundles root (default: bundles, or MOBY_MAKE_BUNDLES)
  --output MODE   plain (a line per event) or json (an event per line)
  --verbose       show stack traces for unexpected errors
  --help          this text

Environment: MOBY_MAKE_IMAGE_ACCEL=tcg skips the KVM probe.`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      file: { type: 'string' },
      bundles: { type: 'string' },
      output: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP + nextSteps('image'));
    return 0;
  }
  const [verb, ...rest] = positionals;
  if (verb !== undefined && verb !== 'run' && verb !== 'check' && verb !== 'exec')
    throw new UsageError(`unexpected argument ${verb}`, 'Run npm run image, or npm run image -- run, check or exec -- COMMAND.');
  if (verb === 'exec' ? rest.length === 0 : rest.length > 0)
    throw new UsageError(verb === 'exec' ? 'exec needs a command' : `unexpected argument ${rest.join(' ')}`, 'npm run image -- exec -- uname -a');
  const env = process.env;
  const signal = interruptSignal({ outliveRepeats: true });
  const mode = outputMode(values.output === 'tty' ? 'plain' : values.output, env, false);
  const renderer = createRenderer<ImageCommandEvent>(mode, { lines: imageLines });
  const context = {
    bundlesDir: values.bundles ? resolve(values.bundles) : defaultBundlesDir(env),
    cacheDir: defaultCacheDir(env),
    env,
    signal,
    onEvent: renderer.onEvent,
  };
  const prepared = await prepareImage(context, resolve(values.file ?? join(projectRoot, 'image.yml')));
  if (verb === undefined) {
    await renderer.finished();
    return 0;
  }
  if (verb === 'exec') {
    const [program = '', ...args] = rest;
    const outcome = await runGuestJob({
      ...bootOptions(prepared, context),
      job: {
        argv: [programPath(program, env), ...args],
        env: Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
        dir: process.cwd(),
        scratch: [],
        shared: [],
        copyBack: [],
        copyLimitBytes: 0,
      },
      onOutput: (line) => console.log(line),
    });
    await renderer.finished();
    return outcome.exitCode;
  }
  const running = await bootImage(bootOptions(prepared, context));
  try {
    if (verb === 'check') {
      const daemonManifest = readManifest(realpathSync(bundlePaths(context.bundlesDir, DAEMON_BUNDLE).current));
      renderer.onEvent({
        type: 'proved',
        proof: await proveImage(running.socket, prepared.built.manifest, daemonManifest, prepared.spec.images[0] ?? 'busybox:latest'),
      });
    } else {
      // Until Ctrl-C, or until the guest powers itself off.
      await Promise.race([running.exited, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);
    }
  } finally {
    await running.powerOff();
    await renderer.finished();
  }
  return 0;
}

/** The command's program as an absolute path, as the shell would find it: the guest runs it chrooted in this machine's root. */
function programPath(program: string, env: NodeJS.ProcessEnv): string {
  if (program.includes('/')) return resolve(program);
  const found = findOnPath(program, env);
  if (!found) throw new UsageError(`exec: ${program} is not on PATH`, 'Give a program this machine has, or its path.');
  return found;
}

await runMain(main);
