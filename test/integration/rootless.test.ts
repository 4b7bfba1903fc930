import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { exeOf, running } from '../../core/procfs.js';
import { readManifest } from '../../core/manifest.js';
import { foreignPieces, type InfoCommits } from '../../devdaemon/commits.js';
import type { DevDaemonEvent } from '../../devdaemon/events.js';
import { stateLayout } from '../../devdaemon/layout.js';
import { mountsUnder, processesUnder } from '../../devdaemon/leftovers.js';
import { managedContainerdExe } from '../../devdaemon/proof.js';
import { readRecord, type DaemonRecord } from '../../devdaemon/state.js';
import { runTask } from '../support/cli.js';
import { statusField } from '../support/proc-status.js';
import { tempDir } from '../support/temp.js';
import { execIn, runToCompletion, startDetached } from './support/containers.js';
import { importBusyboxImage } from './support/image.js';

/**
 * A rootless dev daemon of its own, beside the rootful one the global set-up
 * started: the bundle's dockerd-rootless.sh and rootlesskit as an
 * unprivileged user (the dedicated one, created on first use), in a state
 * folder under the bundles root (the user must be able to reach it).
 */
const bundlesDir = inject('bundlesDir');
const layout = stateLayout(join(bundlesDir, 'dev-daemon-rootless-test'));
const devDaemon = (args: string[]) => runTask('dev-daemon', [...args, '--rootless', '--state', layout.stateDir, '--bundles', bundlesDir, '--output', 'json']);

function events(stdout: string): DevDaemonEvent[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as DevDaemonEvent);
}

let docker: Docker;
let record: DaemonRecord;
/** Every process seen while it ran (rootlesskit, slirp4netns, dockerd, containerd, shims, containers): none may outlive the stop. */
const seen = new Set<number>();

beforeAll(async () => {
  await devDaemon(['stop']); // a run that was killed may have left one
  await rm(layout.stateDir, { recursive: true, force: true });
}, 120_000);
afterAll(async () => {
  if (readRecord(layout)) await devDaemon(['stop']);
});

describe('rootless dev daemon', () => {
  it('starts the bundle through dockerd-rootless.sh and rootlesskit as an unprivileged user, proven by /info', async () => {
    const started = await devDaemon(['--detach']);
    expect(started.code, started.stderr).toBe(0);
    const ready = events(started.stdout).find((event) => event.type === 'ready');
    expect(ready?.type === 'ready' && ready.rootlessUser).toBeTruthy();
    console.log(`rootless dev daemon ready in ${ready?.type === 'ready' ? ready.seconds.toFixed(2) : '?'} s`);

    record = readRecord(layout)!;
    expect(record.rootless).toBeDefined();
    expect(record.rootless!.uid).toBeGreaterThan(0);
    docker = new Docker({ socketPath: layout.socket });
    const info = (await docker.info()) as InfoCommits & { SecurityOptions?: string[] };
    expect(info.SecurityOptions).toContain('name=rootless');
    const bundleDir = join(bundlesDir, 'binary-daemon');
    expect(foreignPieces(info, readManifest(bundleDir))).toEqual([]);
    expect(managedContainerdExe(record.pid)).toBe(realpathSync(join(bundleDir, 'containerd')));
    expect(exeOf(record.rootless!.rootlesskitPid)).toBe(realpathSync(join(bundleDir, 'rootlesskit')));
    // dockerd runs as the user on the host, in a user namespace that is not the machine's.
    expect(statusField(record.pid, 'Uid')[0]).toBe(String(record.rootless!.uid));
    expect(readFileSync(`/proc/${record.pid}/uid_map`, 'utf8').trim().split(/\s+/).slice(0, 3)).toEqual(['0', String(record.rootless!.uid), '1']);
    expect(readFileSync(`/proc/${record.pid}/cmdline`, 'utf8')).not.toContain('.local/share/docker');
    await importBusyboxImage(docker);
  });

  it('runs a container that prints; root inside is the user outside', async () => {
    const finished = await runToCompletion(docker, ['echo', 'hello from rootless']);
    expect(finished.exitCode).toBe(0);
    expect(finished.stdout).toBe('hello from rootless\n');

    const container = await startDetached(docker, ['sleep', '300']);
    try {
      const id = await execIn(container, ['id', '-u']);
      expect(id.stdout.trim()).toBe('0');
      const { State } = await container.inspect();
      seen.add(State.Pid);
      expect(statusField(State.Pid, 'Uid')).toEqual(Array(4).fill(String(record.rootless!.uid)));
    } finally {
      await container.remove({ force: true });
    }
  });

  it("answers on a port published on 127.0.0.1 through rootlesskit's port driver", async () => {
    const container = await startDetached(docker, ['httpd', '-f', '-p', '80', '-h', '/www'], {
      ExposedPorts: { '80/tcp': {} },
      StopTimeout: 1, // httpd as pid 1 ignores SIGTERM; the daemon's stop then kills it after 1 s instead of 10
      HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    });
    try {
      const { NetworkSettings, State } = await container.inspect();
      seen.add(State.Pid);
      const port = NetworkSettings.Ports['80/tcp']?.[0]?.HostPort;
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(await response.text()).toBe('served-from-busybox-httpd\n');
      // The host side of the port is rootlesskit's (its builtin port driver), not a docker-proxy on the host.
      const listener = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
      expect(listener).toContain(`pid=${record.rootless!.rootlesskitPid},`);
    } finally {
      // Left running on purpose: the stop must end it.
      for (const pid of processesUnder(layout.stateDir)) seen.add(pid);
    }
  });

  it('stops cleanly: no rootlesskit, slirp4netns, dockerd, containerd, shim or container process and no mount is left', async () => {
    const kinds = new Set([...seen].map((pid) => (exeOf(pid) ?? '').split('/').pop()));
    for (const program of ['rootlesskit', 'slirp4netns', 'dockerd', 'containerd', 'containerd-shim-runc-v2']) expect(kinds.has(program), program).toBe(true);

    const stopped = await devDaemon(['stop']);
    expect(stopped.code, stopped.stderr).toBe(0);
    const event = events(stopped.stdout).find((e) => e.type === 'stopped');
    expect(event).toMatchObject({ type: 'stopped', pid: record.pid, killed: false, leftoverProcesses: 0, leftoverMounts: 0 });
    expect([...seen].filter(running)).toEqual([]);
    expect(processesUnder(layout.stateDir)).toEqual([]);
    expect(mountsUnder(layout.stateDir)).toEqual([]);
    expect(readRecord(layout)).toBeUndefined();
  });
});

describe('rootless refusals', () => {
  const user = 'mmk-nosubid';
  beforeAll(() => {
    execFileSync('sh', ['-c', `getent passwd ${user} >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin ${user}`]);
  });
  afterAll(() => {
    execFileSync('userdel', [user]);
  });

  it('names the exact fix for a user without a subuid range when it may not change the machine', async () => {
    const state = tempDir('rootless-refusal');
    const result = await runTask('dev-daemon', ['--rootless', '--user', user, '--no-install', '--state', state, '--bundles', bundlesDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^  usermod --add-subuids \\d+-\\d+ --add-subgids \\d+-\\d+ ${user}$`, 'm'));
    expect(result.stderr).toContain('installing is turned off');
    expect(processesUnder(state)).toEqual([]);
  });
});
