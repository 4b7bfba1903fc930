import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../tasks/paths.js';
import { runTask, type CliResult } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { devDaemon, uniqueName } from './support/containers.js';
import { IMAGE } from './support/image.js';

const dockerHost = () => `unix://${inject('devDaemonSocket')}`;
const mobicli = (args: string[], env: Record<string, string | undefined> = { DOCKER_HOST: dockerHost() }) => runTask('mobicli', args, env);

/** The package.json bin, run as npm would link it. */
function mobicliBin(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(projectRoot, 'bin', 'mobicli.js'), args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('mobicli against the dev daemon', () => {
  it('starts a container detached, lists it, and stops it by name', async () => {
    const name = uniqueName('cli');
    try {
      // A shell that exits on SIGTERM: `sleep` as PID 1 would ignore it and make stop wait 10 s.
      const started = await mobicli(['start', IMAGE, 'sh', '-c', 'trap "exit 0" TERM; sleep 600 & wait', '--name', name]);
      expect(started.code).toBe(0);
      const id = started.stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{12}$/);

      const ps = await mobicli(['ps']);
      expect(ps.code).toBe(0);
      expect(ps.stdout.split('\n')[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+NAME\s+STATUS$/);
      expect(ps.stdout).toMatch(new RegExp(`^${id}\\s+${IMAGE.replace(/[/.]/g, '\\$&')}\\s+${name}\\s+Up `, 'm'));

      const stopped = await mobicli(['stop', name]);
      expect(stopped).toMatchObject({ code: 0, stdout: `${name}\n` });
      expect((await devDaemon().getContainer(name).inspect()).State.Running).toBe(false);
      expect((await mobicli(['ps'])).stdout).not.toContain(name);
    } finally {
      await devDaemon().getContainer(name).remove({ force: true });
    }
  });

  it('finds the dev daemon socket when DOCKER_HOST is unset, also as the package bin', async () => {
    const env = { DOCKER_HOST: undefined, MOBY_DEV_DAEMON_STATE: inject('devDaemonState') };
    const ps = await mobicli(['ps'], env);
    expect(ps.code).toBe(0);
    expect(ps.stdout).toMatch(/^CONTAINER ID/);
    const { DOCKER_HOST: _unset, ...inherited } = process.env;
    const bin = await mobicliBin(['ps'], { ...(inherited as Record<string, string>), MOBY_DEV_DAEMON_STATE: inject('devDaemonState') });
    expect(bin).toMatchObject({ code: 0, stdout: expect.stringMatching(/^CONTAINER ID/) });
  });

  it('gives a one-line error and a non-zero exit for an unknown name, a missing image and a daemon that is down', async () => {
    const unknown = await mobicli(['stop', 'mmk-no-such-container']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`error: no container named mmk-no-such-container on the daemon at ${dockerHost()}\n`);

    const image = await mobicli(['start', 'moby-make/absent:none']);
    expect(image.code).toBe(1);
    expect(image.stderr.trim().split('\n')).toHaveLength(1);
    expect(image.stderr).toMatch(/no image moby-make\/absent:none/);

    const socket = join(tempDir('down'), 'docker.sock');
    const down = await mobicli(['ps'], { DOCKER_HOST: `unix://${socket}` });
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`error: cannot reach a Docker daemon at unix://${socket} (ENOENT); start one with: npm run dev-daemon -- --detach\n`);
  });
});
