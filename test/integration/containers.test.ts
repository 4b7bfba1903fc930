import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { readManifest } from '../../core/manifest.js';
import { devDaemon, execIn, runToCompletion, startDetached, uniqueName } from './support/containers.js';
import { IMAGE } from './support/image.js';

describe('containers on the dev daemon', () => {
  it('runs a command to completion with its exit code and both output streams', async () => {
    const result = await runToCompletion(devDaemon(), ['sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 3']);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('to-stdout\n');
    expect(result.stderr).toBe('to-stderr\n');
  });

  it('runs detached, lists, stops and removes a container', async () => {
    const docker = devDaemon();
    const name = uniqueName('detached');
    const container = await startDetached(docker, ['sleep', '600'], { name });
    try {
      const listed = await docker.listContainers({ filters: { name: [name] } });
      expect(listed.map((c) => [c.Names[0], c.Image, c.State])).toEqual([[`/${name}`, IMAGE, 'running']]);

      await container.stop({ t: 1 });
      const stopped = await container.inspect();
      expect(stopped.State.Running).toBe(false);
      expect((await docker.listContainers({ filters: { name: [name] } })).length).toBe(0);
      expect((await docker.listContainers({ all: true, filters: { name: [name] } })).length).toBe(1);
    } finally {
      await container.remove({ force: true });
    }
    expect((await docker.listContainers({ all: true, filters: { name: [name] } })).length).toBe(0);
  });

  it('execs into a running container', async () => {
    const container = await startDetached(devDaemon(), ['sleep', '600'], { name: uniqueName('exec') });
    try {
      await container
        .exec({ Cmd: ['sh', '-c', 'echo written-by-exec > /tmp/mark'] })
        .then((e) => e.start({ hijack: true, stdin: false }))
        .then((stream) => new Promise((resolve) => stream.on('end', resolve).resume()));
      const result = await execIn(container, ['sh', '-c', 'cat /tmp/mark; echo oops >&2; exit 7']);
      expect(result).toEqual({ exitCode: 7, stdout: 'written-by-exec\n', stderr: 'oops\n' });
    } finally {
      await container.remove({ force: true });
    }
  });

  it('with Init: true runs the bundled docker-init as PID 1', async () => {
    const result = await runToCompletion(devDaemon(), ['sh', '-c', "tr '\\0' '|' < /proc/1/cmdline; echo; sha256sum /sbin/docker-init"], {
      HostConfig: { Init: true },
    });
    expect(result.exitCode).toBe(0);
    const [cmdline, digest] = result.stdout.trim().split('\n');
    expect(cmdline?.split('|').slice(0, 4)).toEqual(['/sbin/docker-init', '--', 'sh', '-c']);
    const manifest = readManifest(join(inject('bundlesDir'), 'binary-daemon'));
    expect(digest?.split(/\s+/)[0]).toBe(manifest.files['docker-init']?.sha256);
  });
});
