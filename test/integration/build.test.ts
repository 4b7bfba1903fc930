import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { devDaemon, runToCompletion, uniqueName } from './support/containers.js';
import { IMAGE, followProgress } from './support/image.js';

describe('image build on the dev daemon', () => {
  it('builds an image through the API from a small context, FROM the imported image', async () => {
    const docker = devDaemon();
    const context = mkdtempSync(join(tmpdir(), 'mmk-context-'));
    const tag = `moby-make/${uniqueName('built')}:test`;
    try {
      writeFileSync(join(context, 'greeting.txt'), 'copied-from-the-context\n');
      writeFileSync(
        join(context, 'Dockerfile'),
        [`FROM ${IMAGE}`, 'COPY greeting.txt /greeting.txt', 'RUN echo produced-by-run > /run.txt', 'CMD ["cat", "/greeting.txt", "/run.txt"]', ''].join('\n'),
      );
      await followProgress(docker, await docker.buildImage({ context, src: ['Dockerfile', 'greeting.txt'] }, { t: tag }));
      const result = await runToCompletion(docker, [], { Image: tag });
      expect(result).toMatchObject({ exitCode: 0, stdout: 'copied-from-the-context\nproduced-by-run\n' });
    } finally {
      rmSync(context, { recursive: true, force: true });
      await docker
        .getImage(tag)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });
});
