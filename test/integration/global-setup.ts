import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import Docker from 'dockerode';
import type { TestProject } from 'vitest/node';
import { make } from '../../builder/make.js';
import { stateLayout } from '../../devdaemon/layout.js';
import { makeLines } from '../../tasks/render/make-lines.js';
import { plainRenderer } from '../../tasks/render/plain.js';
import { defaultBundlesDir, defaultCacheDir, projectRoot } from '../../tasks/paths.js';
import { runTask } from '../support/cli.js';
import { importBusyboxImage } from './support/image.js';
import { ensureBusybox } from './support/rootfs.js';

declare module 'vitest' {
  export interface ProvidedContext {
    bundlesDir: string;
    devDaemonState: string;
    devDaemonSocket: string;
  }
}

/**
 * Builds the bundle through the same pipeline as `npm run make` (a no-op when
 * it is up to date), starts the dev daemon the way a contributor does, with
 * --experimental, in a state folder of its own (a contributor's own dev daemon
 * keeps running beside it), imports the test image, and stops it all after.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = process.env;
  const bundlesDir = defaultBundlesDir(env);
  const result = await make({
    componentsDir: join(projectRoot, 'components'),
    bundlesDir,
    cacheDir: defaultCacheDir(env),
    dynamic: env.DOCKER_STATIC === '0',
    jobs: availableParallelism(),
    env,
    signal: new AbortController().signal,
    onEvent: plainRenderer(makeLines(), (line) => console.log(`[make] ${line}`)).onEvent,
  });
  if (result.failed.length > 0) throw new Error(`the bundle did not build: ${result.failed.join(', ')} failed (see bundles/logs)`);
  await ensureBusybox();

  const layout = stateLayout(join(bundlesDir, 'dev-daemon-test'));
  const stop = () => runTask('dev-daemon', ['stop', '--state', layout.stateDir, '--bundles', bundlesDir]);
  await stop(); // a run that was killed may have left one
  await rm(layout.stateDir, { recursive: true, force: true }); // every run starts from an empty data-root
  const started = await runTask('dev-daemon', ['--detach', '--experimental', '--state', layout.stateDir, '--bundles', bundlesDir]);
  if (started.code !== 0) throw new Error(`the dev daemon did not start:\n${started.stdout}${started.stderr}`);
  await importBusyboxImage(new Docker({ socketPath: layout.socket }));

  project.provide('bundlesDir', bundlesDir);
  project.provide('devDaemonState', layout.stateDir);
  project.provide('devDaemonSocket', layout.socket);
  return async () => {
    const stopped = await stop();
    if (stopped.code !== 0) throw new Error(`the dev daemon did not stop cleanly:\n${stopped.stdout}${stopped.stderr}`);
  };
}
