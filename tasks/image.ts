import { basename, dirname, join, resolve } from 'node:path';
import { realpathSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bundlePaths, DAEMON_BUNDLE } from '../core/bundle-layout.js';
import { UsageError } from '../core/errors.js';
import { readManifest } from '../core/manifest.js';
import { installPolicy } from '../core/requirements.js';
import { buildImage, imageDir, type BuiltImage } from '../image/build.js';
import { proveImage } from '../image/proof.js';
import { bootImage } from '../image/qemu.js';
import { readImageSpec } from '../image/spec.js';
import { makeFrozenArchives, recipesFor } from '../testrunner/frozen-images/index.js';
import { nextSteps } from './cli/commands.js';
import { openRemoteImages } from './lib/remote-images.js';
import { interruptSignal, runMain } from './cli/run-main.js';
import { defaultBundlesDir, defaultCacheDir, projectRoot } from './paths.js';
import { createRenderer, outputMode } from './render/choose.js';
import { imageLines, type ImageCommandEvent } from './render/image-lines.js';

const HELP = `Usage: npm run image -- [--file image.yml]
       npm run image -- run
       npm run image -- check

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
  if (rest.length > 0 || (verb !== undefined && verb !== 'run' && verb !== 'check'))
    throw new UsageError(`unexpected argument ${positionals.join(' ')}`, 'Run npm run image, or npm run image -- run or check.');
  const env = process.env;
  const bundlesDir = values.bundles ? resolve(values.bundles) : defaultBundlesDir(env);
  const cacheDir = defaultCacheDir(env);
  const specPath = resolve(values.file ?? join(projectRoot, 'image.yml'));
  const spec = readImageSpec(specPath);
  const signal = interruptSignal();
  // A terminal's Ctrl-C reaches us twice under npm (directly and forwarded); the power-off must not die of the second.
  signal.addEventListener(
    'abort',
    () => {
      const ignore = () => undefined;
      process.on('SIGINT', ignore);
      process.on('SIGTERM', ignore);
    },
    { once: true },
  );
  const mode = outputMode(values.output === 'tty' ? 'plain' : values.output, env, false);
  const renderer = createRenderer<ImageCommandEvent>(mode, { lines: imageLines });
  const onEvent = renderer.onEvent;

  const recipes = recipesFor(spec.images, "image.yml's images");
  const remote = await openRemoteImages(env, (notice) => onEvent({ type: 'cache', notice }));
  const archives = await makeFrozenArchives({ cacheDir, env, signal, onEvent, recipes, ...(remote ? { remote } : {}) });
  const built: BuiltImage = await buildImage({
    spec,
    specDir: dirname(specPath),
    bundlesDir,
    cacheDir,
    initSource: join(projectRoot, 'image', 'init'),
    images: archives.map((archive) => ({ dir: archive.dir, tags: archive.info.tags, key: basename(dirname(archive.dir)) })),
    env,
    onEvent,
  });
  if (verb === undefined) {
    await renderer.finished();
    return 0;
  }
  const running = await bootImage({
    // The generation the build just published, even if another build swaps the link meanwhile.
    dir: realpathSync(imageDir(bundlesDir)),
    runDir: join(bundlesDir, 'image-run'),
    memoryMiB: spec.outputs.memory,
    cpus: spec.outputs.cpus,
    cacheDir,
    install: installPolicy(env, (packages) => onEvent({ type: 'installing', packages })),
    env,
    signal,
    onEvent,
  });
  try {
    if (verb === 'check') {
      const daemonManifest = readManifest(realpathSync(bundlePaths(bundlesDir, DAEMON_BUNDLE).current));
      onEvent({ type: 'proved', proof: await proveImage(running.socket, built.manifest, daemonManifest, spec.images[0] ?? 'busybox:latest') });
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

await runMain(main);
