import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { sourceOfFile } from '../../devdaemon/commits.js';
import { argvOf, childrenOf, exeOf } from '../../core/procfs.js';
import { readManifest } from '../../core/manifest.js';
import { devDaemon } from './support/containers.js';

const bundleDir = () => join(inject('bundlesDir'), 'binary-daemon');

describe('the dev daemon runs the bundle', () => {
  it('reports experimental mode and the manifest commits of runc, containerd and docker-init', async () => {
    const manifest = readManifest(bundleDir());
    const info = (await devDaemon().info()) as Record<'RuncCommit' | 'ContainerdCommit' | 'InitCommit', { ID: string }> & {
      ExperimentalBuild: boolean;
      DockerRootDir: string;
    };
    expect(info.ExperimentalBuild).toBe(true);
    expect(info.DockerRootDir).toBe(join(inject('devDaemonState'), 'root'));

    const runc = sourceOfFile(manifest, 'runc')!;
    const containerd = sourceOfFile(manifest, 'containerd')!;
    const init = sourceOfFile(manifest, 'docker-init')!;
    // runc stamps `git describe`: <tag>-0-g<9 hex>; containerd its full revision; tini 7 hex.
    expect(info.RuncCommit.ID).toBe(`${runc.version}-0-g${runc.commit!.slice(0, 9)}`);
    expect(info.ContainerdCommit.ID).toBe(containerd.commit);
    expect(info.InitCommit.ID).toBe(init.commit!.slice(0, 7));
  });

  it('reports the daemon version stamped at build time', async () => {
    const manifest = readManifest(bundleDir());
    const version = await devDaemon().version();
    expect(version.GitCommit).toBe(sourceOfFile(manifest, 'dockerd')!.commit);
    expect(version.MinAPIVersion).toBe('1.24');
    const components = Object.fromEntries((version.Components ?? []).map((c) => [c.Name, c.Details as unknown as Record<string, string>]));
    expect(components.containerd?.GitCommit).toBe(sourceOfFile(manifest, 'containerd')!.commit);
  });

  it('runs the bundled containerd, under its own exec-root', () => {
    const dockerdPid = Number(readFileSync(join(inject('devDaemonState'), 'docker.pid'), 'utf8'));
    expect(exeOf(dockerdPid)).toBe(realpathSync(join(bundleDir(), 'dockerd')));
    const containerd = childrenOf(dockerdPid).find((pid) => exeOf(pid) === realpathSync(join(bundleDir(), 'containerd')));
    expect(containerd).toBeDefined();
    expect(argvOf(containerd!).join(' ')).toContain(join(inject('devDaemonState'), 'exec', 'containerd'));
  });
});
