import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { stateLayout } from '../../devdaemon/layout.js';
import { mountsUnder, processesUnder } from '../../devdaemon/leftovers.js';
import { bridgeName } from '../../devdaemon/network.js';
import { exeOf, running } from '../../core/procfs.js';
import { MANIFEST_SCHEMA, REPLAY_NOTE } from '../../core/manifest.js';
import { readRecord } from '../../devdaemon/state.js';
import { runTask } from '../support/cli.js';
import { tempDir as makeTempDir } from '../support/temp.js';
import { uniqueName } from './support/containers.js';
import { foregroundDevDaemon } from './support/foreground.js';
import { IMAGE, importBusyboxImage } from './support/image.js';

const devDaemon = (args: string[]) => runTask('dev-daemon', args);

/** Temporary state folders and bundle copies; test/support/setup.ts removes them after the file. */
const made: string[] = [];
function tempDir(prefix: string): string {
  const dir = makeTempDir(prefix);
  made.push(dir);
  return dir;
}
// A case that failed half-way may have left its daemon running: stop it before the folders go.
afterAll(async () => {
  for (const dir of made) if (existsSync(stateLayout(dir).metaFile)) await devDaemon(['stop', '--state', dir]);
});

/** A bundles root whose binary-daemon is the real one, hard-linked, except `changed`, which is a modified copy. */
function bundleCopyWithChangedFile(changed: string): string {
  const root = tempDir('tampered');
  const source = join(inject('bundlesDir'), 'binary-daemon');
  const copy = join(root, 'binary-daemon');
  mkdirSync(copy);
  for (const name of readdirSync(source)) {
    if (name === changed) copyFileSync(join(source, name), join(copy, name));
    else linkSync(join(source, name), join(copy, name));
  }
  appendFileSync(join(copy, changed), Buffer.from([0]));
  return root;
}

function iptablesMentions(word: string): string[] {
  return ['filter', 'nat'].flatMap((table) =>
    execFileSync('iptables', ['-w', '-t', table, '-S'], { encoding: 'utf8' })
      .split('\n')
      .filter((rule) => rule.split(/\s+/).includes(word)),
  );
}

/** Nothing of a stopped dev daemon may remain: processes, mounts, its bridge or the rules dockerd wrote for it. */
function expectNothingLeft(stateDir: string, bridge: string, subnet?: string): void {
  expect(processesUnder(stateDir, subnet)).toEqual([]);
  expect(mountsUnder(stateDir)).toEqual([]);
  expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
  expect(iptablesMentions(bridge)).toEqual([]);
  expect(existsSync(stateLayout(stateDir).pidFile)).toBe(false);
}

describe('dev-daemon refuses to start', () => {
  it('a bundle with a binary changed after the build, naming the file (on a copy of the bundle)', async () => {
    const root = bundleCopyWithChangedFile('runc');
    const result = await devDaemon(['--detach', '--bundles', root]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/does not match its checksums, refusing to run it/);
    expect(result.stderr).toMatch(/^ {2}runc: sha256 [0-9a-f]{64} but runc\.sha256 says [0-9a-f]{64}$/m);
    expect(result.stderr).toMatch(/npm run make/);
    expect(result.stdout).not.toMatch(/DOCKER_HOST=/);
    expect(existsSync(`/sys/class/net/${bridgeName(join(root, 'dev-daemon'))}`)).toBe(false);
  });

  it('a corrupted or hand-edited manifest.json, naming the file and the fix', async () => {
    const root = bundleCopyWithChangedFile('manifest.json');
    const manifest = join(root, 'binary-daemon', 'manifest.json');
    writeFileSync(manifest, `${JSON.stringify({ schema: MANIFEST_SCHEMA, replay: REPLAY_NOTE, components: {}, files: { runc: { sha256: 'edited' } } })}\n`);
    const result = await devDaemon(['--detach', '--bundles', root]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^error: ${manifest} is not a valid bundle manifest: files\\.runc\\.`, 'm'));
    expect(result.stderr).toMatch(/^Rebuild the bundle with: npm run make$/m);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('without a bundle, saying to run npm run make', async () => {
    const result = await devDaemon(['--bundles', tempDir('empty')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: there is no built bundle at .*binary-daemon$/m);
    expect(result.stderr).toMatch(/^Build it with: npm run make$/m);
  });

  it('a second daemon on a state folder whose daemon runs, saying how to stop it', async () => {
    const state = inject('devDaemonState');
    const result = await devDaemon(['--detach', '--state', state, '--bundles', inject('bundlesDir')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`a dev daemon is already running from ${state} \\(pid \\d+`));
    expect(result.stderr).toMatch(/npm run dev-daemon -- stop/);
    const pong: unknown = await new Docker({ socketPath: inject('devDaemonSocket') }).ping();
    expect(String(pong)).toBe('OK');
  });

  it('a TCP listener beyond loopback without TLS, and the system Docker socket', async () => {
    const tcp = await devDaemon(['-H', 'tcp://0.0.0.0:2375', '--state', tempDir('tcp')]);
    expect(tcp.code).toBe(1);
    expect(tcp.stderr).toMatch(/-H tcp:\/\/0\.0\.0\.0:2375: a TCP listener beyond loopback without TLS/);
    const system = await devDaemon(['--host=unix:///var/run/docker.sock', '--state', tempDir('sock')]);
    expect(system.code).toBe(1);
    expect(system.stderr).toMatch(/that is the system Docker socket/);
    const dataRoot = await devDaemon(['--data-root', '/var/lib/docker']);
    expect(dataRoot.code).toBe(1);
    expect(dataRoot.stderr).toMatch(/--data-root cannot be passed to the dev daemon/);
  });

  it('exits non-zero with dockerd last log lines when dockerd dies during start-up, leaving nothing', async () => {
    const state = tempDir('dies');
    const result = await devDaemon(['--log-level=nonsense', '--state', state, '--bundles', inject('bundlesDir')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/dockerd exited during start-up \(exit code 1\); the last 40 lines of .*dockerd\.log:/);
    expect(result.stderr).toMatch(/invalid logging level: nonsense/);
    expectNothingLeft(state, bridgeName(state));
  });
});

describe('dev-daemon lifecycle', () => {
  it('recovers a stale pidfile, answers status and reload, and SIGTERM leaves no process, mount or bridge', async () => {
    const state = tempDir('lifecycle');
    const layout = stateLayout(state);
    const deadPid = spawnSync('true').pid;
    writeFileSync(layout.pidFile, `${deadPid}\n`);

    const daemon = foregroundDevDaemon(['--state', state, '--bundles', inject('bundlesDir')]);
    await daemon.waitFor(/^DOCKER_HOST=unix:\/\//);
    expect(daemon.output()).toContain(`removed a stale pidfile: pid ${deadPid} is not a running dev daemon`);
    expect(daemon.output()).toMatch(/dockerd \(pid \d+\) is ready in \d+\.\d\d s/);
    await daemon.waitFor(/^dockerd \| .*API listen on/); // the log is streamed with a prefix
    const { bridge, subnet } = readRecord(layout)!;

    const status = await devDaemon(['status', '--state', state]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`DOCKER_HOST=unix://${layout.socket}`);

    // Something to clean up: a running container with a volume and a published port.
    const docker = new Docker({ socketPath: layout.socket });
    await importBusyboxImage(docker);
    const container = await docker.createContainer({
      Image: IMAGE,
      Cmd: ['sleep', '600'],
      name: uniqueName('left'),
      ExposedPorts: { '80/tcp': {} },
      // Init: tini passes SIGTERM on, so dockerd's shutdown does not wait out sleep's 10 s stop timeout.
      HostConfig: { Init: true, Binds: [`${uniqueName('vol')}:/data`], PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    });
    await container.start();
    expect(processesUnder(state, subnet).length).toBeGreaterThan(0);
    expect(mountsUnder(state).length).toBeGreaterThan(0);

    writeFileSync(layout.configFile, JSON.stringify({ labels: ['moby-make.reload=applied'] }));
    const reload = await devDaemon(['reload', '--state', state]);
    expect(reload.code).toBe(0);
    expect(await labelsOnceReloaded(docker)).toContain('moby-make.reload=applied');

    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(daemon.output()).toMatch(/^stopped$/m);
    expectNothingLeft(state, bridge, subnet);
    const after = await devDaemon(['status', '--state', state]);
    expect(after.code).toBe(1);
    expect(after.stdout).toMatch(/^not running/);
  });

  it('stops cleanly on Ctrl-C (SIGINT) too', async () => {
    const state = tempDir('ctrl-c');
    const daemon = foregroundDevDaemon(['--state', state, '--bundles', inject('bundlesDir'), '--log-file', join(state, 'own.log')]);
    await daemon.waitFor(/^DOCKER_HOST=/);
    expect(daemon.output()).not.toMatch(/^dockerd \| /m); // the log went to the file instead
    daemon.child.kill('SIGINT');
    expect(await daemon.exited).toBe(0);
    expectNothingLeft(state, bridgeName(state));
  });
});

describe('dev-daemon after a crash', () => {
  it('stop removes what a SIGKILLed dockerd left: containerd, shim, container, docker-proxy, mounts, bridge', async () => {
    const state = tempDir('crash');
    const started = await devDaemon(['--detach', '--state', state, '--bundles', inject('bundlesDir')]);
    expect(started.code).toBe(0);
    try {
      const layout = stateLayout(state);
      const { pid, bridge, subnet } = readRecord(layout)!;
      const docker = new Docker({ socketPath: layout.socket });
      await importBusyboxImage(docker);
      const container = await docker.createContainer({
        Image: IMAGE,
        Cmd: ['sleep', '600'],
        ExposedPorts: { '80/tcp': {} },
        HostConfig: { Binds: [`${uniqueName('vol')}:/data`], PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
      });
      await container.start();
      const programs = processesUnder(state, subnet).map((p) => basename(exeOf(p) ?? ''));
      expect(programs).toEqual(expect.arrayContaining(['dockerd', 'containerd', 'containerd-shim-runc-v2', 'docker-proxy', 'busybox']));

      process.kill(pid, 'SIGKILL');
      await exitOf(pid);
      const stopped = await devDaemon(['stop', '--state', state]);
      expect(stopped.code).toBe(0);
      expect(stopped.stdout).toMatch(/^no dev daemon was running from .*; ended [1-9]\d* leftover process\(es\), unmounted [1-9]\d* mount\(s\)$/m);
      expectNothingLeft(state, bridge, subnet);
    } finally {
      await devDaemon(['stop', '--state', state]); // whatever failed above, no daemon outlives the case
    }
  });
});

/** Waits (bounded) until a killed process is gone or a zombie. */
async function exitOf(pid: number): Promise<void> {
  for (let attempt = 0; attempt < 100 && running(pid); attempt += 1) await sleep(50);
}

/** SIGHUP is handled asynchronously; ask until the labels change (bounded), then return what /info says. */
async function labelsOnceReloaded(docker: Docker): Promise<string[]> {
  let labels: string[] = [];
  for (let attempt = 0; attempt < 100 && labels.length === 0; attempt += 1) {
    labels = ((await docker.info()) as { Labels?: string[] }).Labels ?? [];
    if (labels.length === 0) await sleep(100);
  }
  return labels;
}
