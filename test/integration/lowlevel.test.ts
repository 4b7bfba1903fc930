import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { stateLayout } from '../../devdaemon/layout.js';
import { sourceOfFile } from '../../devdaemon/commits.js';
import { readManifest } from '../../core/manifest.js';
import { devDaemon, startDetached, uniqueName } from './support/containers.js';
import { writeBusyboxRootfs } from './support/rootfs.js';

const exec = promisify(execFile);
const bundled = (name: string) => join(inject('bundlesDir'), 'binary-daemon', name);

describe('the bundled low-level tools', () => {
  it('ctr talks to the dev daemon containerd and sees its containers and images', async () => {
    const address = stateLayout(inject('devDaemonState')).containerdSocket;
    const ctr = (...args: string[]) => exec(bundled('ctr'), ['--address', address, ...args]).then((r) => r.stdout);
    const version = await ctr('version');
    const manifest = readManifest(join(inject('bundlesDir'), 'binary-daemon'));
    expect(version).toMatch(new RegExp(`Server:[\\s\\S]*Revision:\\s+${sourceOfFile(manifest, 'containerd')!.commit}`));

    const container = await startDetached(devDaemon(), ['sleep', '600'], { name: uniqueName('ctr') });
    try {
      expect((await ctr('--namespace', 'moby', 'containers', 'list', '--quiet')).split('\n')).toContain(container.id);
      expect(await ctr('--namespace', 'moby', 'tasks', 'list')).toMatch(new RegExp(`${container.id}\\s+\\d+\\s+RUNNING`));
      expect(await ctr('--namespace', 'moby', 'images', 'list', '--quiet')).toContain('moby-make/busybox:test');
    } finally {
      await container.remove({ force: true });
    }
  });

  it('runc runs an OCI bundle made with `runc spec` and a busybox rootfs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmk-oci-'));
    const runc = (...args: string[]) => exec(bundled('runc'), ['--root', join(dir, 'state'), ...args], { cwd: dir });
    try {
      writeBusyboxRootfs(join(dir, 'rootfs'));
      await runc('spec');
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { process: { args: string[]; terminal: boolean } };
      config.process.terminal = false;
      config.process.args = ['sh', '-c', 'echo hello-from-runc pid=$$ host=$(hostname)'];
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
      const { stdout } = await runc('run', '--bundle', dir, uniqueName('runc'));
      expect(stdout).toBe('hello-from-runc pid=1 host=runc\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
