import { wallSeconds } from './wall-seconds.js';
import { existsSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { seedBundle } from '../../builder/seed.js';
import { CLIENT_BUNDLE, bundlePaths } from '../../core/bundle-layout.js';
import { installPolicy } from '../../core/requirements.js';
import { median } from '../../core/stats.js';
import { measureStartup } from '../../devdaemon/measure.js';
import { imageDir } from '../../image/build.js';
import { bootImage, chooseAccelerator, type Accelerator } from '../../image/qemu.js';
import { readImageSpec } from '../../image/spec.js';
import { defaultBundlesDir, defaultCacheDir, projectRoot, taskArgv } from '../paths.js';

/** Boot to `/_ping` answered through the socket on this machine, then a clean power-off. */
async function bootToPing(dir: string, runDir: string, accelerator: Accelerator, env: NodeJS.ProcessEnv): Promise<number> {
  const spec = readImageSpec(join(projectRoot, 'image.yml'));
  const started = performance.now();
  const running = await bootImage({
    dir,
    runDir,
    memoryMiB: spec.outputs.memory,
    cpus: spec.outputs.cpus,
    cacheDir: defaultCacheDir(env),
    install: installPolicy(env, () => undefined),
    env: accelerator === 'tcg' ? { ...env, MOBY_MAKE_IMAGE_ACCEL: 'tcg' } : env,
    signal: new AbortController().signal,
    onEvent: () => undefined,
  });
  try {
    await new Docker({ socketPath: running.socket }).ping();
    return (performance.now() - started) / 1000;
  } finally {
    await running.powerOff();
  }
}

/**
 * The image in a bundles root of its own (the daemon bundle hard-linked from
 * this machine's, the client's linked): a dockerd change is a real relink
 * (VERSION stamps dockerd), then `npm run image`, which the issue wants within
 * 2 s; a no-op image; and the boot to `/_ping` against the dev daemon's start
 * on this machine's kernel, with KVM only where a probe boot shows it works.
 */
export async function benchImage(runs: number): Promise<number> {
  const env = { ...process.env, CI: 'true' };
  const bundlesDir = defaultBundlesDir(env);
  const scratch = join(bundlesDir, '.bench-image');
  rmSync(scratch, { recursive: true, force: true });
  await seedBundle(bundlePaths(bundlesDir), bundlePaths(scratch));
  symlinkSync(realpathSync(bundlePaths(bundlesDir, CLIENT_BUNDLE).current), bundlePaths(scratch, CLIENT_BUNDLE).current);
  const make = (version: string) => wallSeconds(taskArgv('make', '--bundles', scratch, '--only', 'daemon'), { ...env, VERSION: version });
  const image = () => wallSeconds(taskArgv('image', '--bundles', scratch), env);
  try {
    console.log(`\nnpm run image after a dockerd change, against the dockerd rebuild itself (median of ${runs})`);
    make('bench-image-0');
    image();
    const dockerd: number[] = [];
    const rebuilt: number[] = [];
    const noop: number[] = [];
    for (let round = 1; round <= runs; round += 1) {
      dockerd.push(make(`bench-image-${round}`));
      rebuilt.push(image());
      noop.push(image());
    }
    console.log(`  npm run make -- --only daemon (relink)  ${median(dockerd).toFixed(2)} s`);
    console.log(`  npm run image, dockerd changed          ${median(rebuilt).toFixed(2)} s  (target: 2 s over the rebuild; Node start included)`);
    console.log(`  npm run image, nothing changed          ${median(noop).toFixed(2)} s`);

    const dir = realpathSync(imageDir(scratch));
    const runDir = join(scratch, 'image-run');
    const probe = await chooseAccelerator(join(dir, 'kernel'), defaultCacheDir(env), env);
    const accelerators: Accelerator[] = probe.accelerator === 'kvm' ? ['kvm', 'tcg'] : ['tcg'];
    const host = await measureStartup({ bundlesDir, rounds: runs, dockerdArgs: [] });
    console.log(`\nboot to /_ping answered on this machine's socket (median of ${runs}); KVM probe: ${probe.reason}`);
    console.log(`  dev daemon start on this machine        ${host.medianDevDaemon.toFixed(2)} s`);
    for (const accelerator of accelerators) {
      const boots: number[] = [];
      for (let round = 0; round < runs; round += 1) boots.push(await bootToPing(dir, runDir, accelerator, env));
      console.log(
        `  image under ${accelerator.toUpperCase()}${' '.repeat(28 - accelerator.length)}${median(boots).toFixed(2)} s  (${(median(boots) / host.medianDevDaemon).toFixed(1)}x the dev daemon's start)`,
      );
    }
    return 0;
  } finally {
    if (existsSync(scratch)) rmSync(scratch, { recursive: true, force: true });
  }
}
