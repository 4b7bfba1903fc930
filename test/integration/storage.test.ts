import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { devDaemon, runToCompletion, uniqueName } from './support/containers.js';

describe('storage on the dev daemon', () => {
  it('keeps what one container writes to a named volume for the next one', async () => {
    const docker = devDaemon();
    const name = uniqueName('vol');
    await docker.createVolume({ Name: name });
    try {
      const writer = await runToCompletion(docker, ['sh', '-c', 'echo kept-in-volume > /data/file'], { HostConfig: { Binds: [`${name}:/data`] } });
      expect(writer.exitCode).toBe(0);
      const reader = await runToCompletion(docker, ['cat', '/data/file'], { HostConfig: { Binds: [`${name}:/data:ro`] } });
      expect(reader.stdout).toBe('kept-in-volume\n');
    } finally {
      await docker.getVolume(name).remove();
    }
  });

  it('bind-mounts a host folder both ways', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmk-bind-'));
    try {
      writeFileSync(join(dir, 'from-host.txt'), 'written-on-the-host\n');
      const result = await runToCompletion(devDaemon(), ['sh', '-c', 'cat /host/from-host.txt && echo written-in-container > /host/from-container.txt'], {
        HostConfig: { Binds: [`${dir}:/host`] },
      });
      expect(result).toMatchObject({ exitCode: 0, stdout: 'written-on-the-host\n' });
      expect(readFileSync(join(dir, 'from-container.txt'), 'utf8')).toBe('written-in-container\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
