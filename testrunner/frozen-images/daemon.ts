import { spawn } from 'node:child_process';
import type Docker from 'dockerode';
import { UserError } from '../../core/errors.js';
import type { ArchiveInfo } from './docker-archive.js';

/** Whether every tag of the image is in the daemon as exactly this image (same layer, same platform). */
export async function daemonHas(docker: Docker, info: ArchiveInfo): Promise<boolean> {
  for (const tag of info.tags) {
    const inspect = await docker
      .getImage(tag)
      .inspect()
      .catch(() => undefined);
    if (!inspect || !matches(inspect, info)) return false;
  }
  return true;
}

function matches(inspect: Docker.ImageInspectInfo, info: ArchiveInfo): boolean {
  const layers = inspect.RootFS.Layers ?? [];
  return layers.length === 1 && layers[0] === info.diffId && inspect.Architecture === info.platform.architecture && inspect.Os === 'linux';
}

/**
 * `docker load` of the archive folder, as moby's own loader does it with
 * /docker-frozen-images (`tar -cC dir .` into POST /images/load), then a
 * check that every tag now names this image.
 */
export async function loadArchive(docker: Docker, archiveDir: string, info: ArchiveInfo, signal: AbortSignal): Promise<void> {
  const tar = spawn('tar', ['-c', '-C', archiveDir, '.'], { stdio: ['ignore', 'pipe', 'pipe'], signal });
  let tarError = '';
  tar.stderr.on('data', (chunk: Buffer) => (tarError += chunk.toString()));
  const tarExit = new Promise<number | null>((resolve) => tar.on('close', resolve));
  tar.on('error', () => undefined); // an abort ends it; the exit code below reports the rest
  const response = await docker.loadImage(tar.stdout, { quiet: true });
  const output = await new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
    docker.modem.followProgress(response, (error: Error | null, events: Array<Record<string, unknown>>) => (error ? reject(error) : resolve(events)));
  });
  const code = await tarExit;
  signal.throwIfAborted();
  if (code !== 0) throw new UserError(`tar of ${archiveDir} failed (exit ${code}): ${tarError.trim()}`);
  const failure = output.find((event) => event.error || event.errorDetail);
  if (failure) {
    const message = typeof failure.error === 'string' ? failure.error : JSON.stringify(failure.errorDetail);
    throw new UserError(`the daemon refused to load ${info.tags.join(', ')}: ${message}`, `The archive is ${archiveDir}.`);
  }
  if (!(await daemonHas(docker, info))) {
    throw new UserError(
      `after loading ${info.tags.join(', ')} the daemon does not show them as ${info.diffId} (${info.platform.architecture})`,
      `The archive is ${archiveDir}; the daemon said: ${output.map((event) => JSON.stringify(event)).join(' ')}`,
    );
  }
}
