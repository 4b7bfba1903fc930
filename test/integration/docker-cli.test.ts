import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { CLIENT_BUNDLE } from '../../core/bundle-layout.js';
import { readManifest } from '../../core/manifest.js';
import { run, type RunResult } from '../../core/process.js';
import { sourceOfFile } from '../../devdaemon/commits.js';
import { tempDir } from '../support/temp.js';
import { uniqueName } from './support/containers.js';
import { fetchWhenUp } from './support/http.js';
import { IMAGE } from './support/image.js';

const clientBundle = () => join(inject('bundlesDir'), CLIENT_BUNDLE);
const daemonBundle = () => join(inject('bundlesDir'), 'binary-daemon');
/** The CLI's own config folder, so no user's ~/.docker (contexts, credentials) plays a part. */
const config = tempDir('docker-config');

/** The bundled docker CLI against the dev daemon, as the dev daemon tells a contributor to run it. */
function docker(...args: string[]): Promise<RunResult> {
  return run([join(clientBundle(), 'docker'), ...args], {
    env: { PATH: process.env.PATH, HOME: config, DOCKER_CONFIG: config, DOCKER_HOST: `unix://${inject('devDaemonSocket')}` },
  });
}

async function ok(...args: string[]): Promise<string> {
  const result = await docker(...args);
  expect(result, `docker ${args.join(' ')}`).toMatchObject({ exitCode: 0 });
  return result.stdout;
}

describe('the docker CLI from binary-client drives the dev daemon', () => {
  it('is the pinned release, stamped as its manifest says, and talks to the bundled dockerd', async () => {
    const cli = readManifest(clientBundle()).components.cli!;
    const version = JSON.parse(await ok('version', '--format', '{{json .}}')) as {
      Client: { Version: string; GitCommit: string };
      Server: { GitCommit: string };
    };
    expect(version.Client.Version).toBe(cli.source.version.replace(/^v/, '').replace(/\+incompatible$/, ''));
    expect(version.Client.GitCommit).toMatch(/^[0-9a-f]{7}$/);
    expect(cli.commands.join('\n')).toContain(`version.GitCommit=${version.Client.GitCommit} `);
    expect(version.Server.GitCommit).toBe(sourceOfFile(readManifest(daemonBundle()), 'dockerd')!.commit);
  });

  it('shows the bundle commits of runc, containerd and docker-init in docker info', async () => {
    const info = JSON.parse(await ok('info', '--format', '{{json .}}')) as Record<'RuncCommit' | 'ContainerdCommit' | 'InitCommit', { ID: string }>;
    const manifest = readManifest(daemonBundle());
    const runc = sourceOfFile(manifest, 'runc')!;
    expect(info.RuncCommit.ID).toBe(`${runc.version}-0-g${runc.commit!.slice(0, 9)}`);
    expect(info.ContainerdCommit.ID).toBe(sourceOfFile(manifest, 'containerd')!.commit);
    expect(info.InitCommit.ID).toBe(sourceOfFile(manifest, 'docker-init')!.commit!.slice(0, 7));
  });

  it('runs a container, passing its output and exit code through', async () => {
    expect(await ok('run', '--rm', IMAGE, 'echo', 'hello-from-the-cli')).toBe('hello-from-the-cli\n');
    expect((await docker('run', '--rm', IMAGE, 'sh', '-c', 'exit 3')).exitCode).toBe(3);
  });

  it('execs into a running container', async () => {
    const name = uniqueName('cli-exec');
    await ok('run', '-d', '--name', name, IMAGE, 'sleep', '60');
    try {
      expect(await ok('exec', name, 'sh', '-c', 'echo "$((6 * 7))" from $(hostname)')).toMatch(/^42 from [0-9a-f]{12}\n$/);
    } finally {
      await docker('rm', '-f', name);
    }
  });

  it('publishes a port with -p that answers on 127.0.0.1', async () => {
    const name = uniqueName('cli-web');
    await ok('run', '-d', '--name', name, '-p', '127.0.0.1::8080', IMAGE, 'httpd', '-f', '-p', '8080', '-h', '/www');
    try {
      const [binding] = (await ok('port', name, '8080/tcp')).trim().split('\n');
      expect(binding).toMatch(/^127\.0\.0\.1:\d+$/);
      const response = await fetchWhenUp(`http://${binding}/`);
      expect(await response.text()).toBe('served-from-busybox-httpd\n');
    } finally {
      await docker('rm', '-f', name);
    }
  });

  it('builds an image from a Dockerfile FROM the test image and runs it', async () => {
    const context = tempDir('cli-build');
    const tag = `moby-make/${uniqueName('cli-built')}:test`;
    writeFileSync(join(context, 'Dockerfile'), [`FROM ${IMAGE}`, 'RUN echo built-by-the-cli > /built.txt', 'CMD ["cat", "/built.txt"]', ''].join('\n'));
    try {
      await ok('build', '--quiet', '-t', tag, context);
      expect(await ok('run', '--rm', tag)).toBe('built-by-the-cli\n');
    } finally {
      await docker('rmi', '-f', tag);
    }
  });
});
