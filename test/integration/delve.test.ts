import { readFileSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readManifest } from '../../core/manifest.js';
import { mountsUnder, processesUnder } from '../../devdaemon/leftovers.js';
import { stateLayout } from '../../devdaemon/layout.js';
import { readRecord } from '../../devdaemon/state.js';
import { runTask } from '../support/cli.js';
import { argvOf, exeOf, parentOf } from '../../core/procfs.js';
import { DelveClient } from '../support/delve-client.js';
import { freePort } from '../../core/free-port.js';
import { statusField } from '../support/proc-status.js';
import { tempDir } from '../support/temp.js';
import { foregroundDevDaemon, type Foreground } from './support/foreground.js';

/** The system router's GET /info handler, as moby names it (daemon/server/router/system/system_routes.go). */
const INFO_HANDLER = 'github.com/moby/moby/v2/daemon/server/router/system.(*systemRouter).getInfo';

/** `npm run dev-daemon -- ARGS` in the foreground, once dockerd is ready and delve listens. */
async function startUnderDelve(args: string[]): Promise<Foreground> {
  const daemon = foregroundDevDaemon(args);
  await daemon.waitFor(/^dockerd \(pid \d+\) is ready/);
  // The ready event's later lines may arrive in a later chunk of the pipe.
  await daemon.waitFor(/^delve \(API v2\) listens on /);
  return daemon;
}

/** Ctrl-C for a daemon a failed test left running. */
async function interrupt(daemon: Foreground | undefined): Promise<void> {
  if (daemon?.child.exitCode !== null) return;
  daemon.child.kill('SIGINT');
  await daemon.exited;
}

/**
 * Through delve's API on `listen`: a breakpoint on the /info handler, hit by
 * a GET /info on the daemon's socket; a variable and the handler's arguments
 * read at the stop; the request completes after continue.
 */
async function breakOnInfo(listen: string, socket: string): Promise<void> {
  const delve = await DelveClient.connect(listen);
  try {
    await delve.command('halt');
    const breakpoint = await delve.createBreakpoint(INFO_HANDLER);
    const stopped = delve.command('continue');
    const info = new Docker({ socketPath: socket }).info() as Promise<{ ID: string }>;
    const at = await stopped;
    expect(at.currentThread?.breakPoint?.functionName).toBe(INFO_HANDLER);
    const goroutine = at.currentThread?.goroutineID ?? 0;
    const path = await delve.eval(goroutine, 'r.URL.Path');
    expect(path.value).toMatch(/^(\/v[\d.]+)?\/info$/);
    expect((await delve.functionArgs(goroutine)).map((arg) => arg.name)).toEqual(expect.arrayContaining(['ctx', 'w', 'r', 'vars']));
    await delve.clearBreakpoint(breakpoint);
    void delve.command('continue').catch(() => undefined); // answers only at the next stop
    expect((await info).ID).toMatch(/\S/);
  } finally {
    delve.close();
  }
}

describe('dev-daemon --debug-port: dockerd under delve', () => {
  const state = join(tempDir('delve'), 's');
  const bundlesDir = inject('bundlesDir');
  let listen = '';
  let daemon: Foreground;

  beforeAll(async () => {
    listen = `127.0.0.1:${await freePort()}`;
    daemon = await startUnderDelve(['--debug-port', listen, '--state', state, '--bundles', bundlesDir]);
  });

  afterAll(() => interrupt(daemon));

  it('runs a debug build of dockerd, from a bundle of its own, as delve’s child', () => {
    expect(daemon.output()).toContain(`delve (API v2) listens on ${listen}`);
    const debugBundle = join(bundlesDir, 'debug', 'binary-daemon');
    const commands = readManifest(debugBundle).components.daemon?.commands.join('\n') ?? '';
    expect(commands).toContain('-gcflags=all=-N -l');
    expect(commands).not.toMatch(/-ldflags '?-w /);
    // The release bundle is untouched: still the optimised, stripped build.
    expect(readManifest(join(bundlesDir, 'binary-daemon')).components.daemon?.commands.join('\n')).not.toContain('-gcflags');
    const pid = Number(readFileSync(join(state, 'docker.pid'), 'utf8'));
    expect(exeOf(pid)).toBe(realpathSync(join(debugBundle, 'dockerd')));
    expect(argvOf(parentOf(pid) ?? 0)[0]).toMatch(/dlv$/);
  });

  it('stops at a breakpoint on the /info handler, shows a variable, and the request completes after continue', async () => {
    await breakOnInfo(listen, join(state, 'docker.sock'));
  });

  it('stops dockerd and delve on Ctrl-C and leaves nothing behind', async () => {
    daemon.child.kill('SIGINT');
    expect(await daemon.exited).toBe(0);
    expect(processesUnder(state)).toEqual([]);
  });
});

/**
 * The same under rootlesskit: dockerd and delve run as the rootless user in
 * its namespaces, delve's API on a socket of the user's, and the port a
 * forward of the command's to it, which ends with the daemon.
 */
describe('dev-daemon --rootless --debug-port: a rootless dockerd under delve', () => {
  const bundlesDir = inject('bundlesDir');
  // The rootless user must reach the state folder: it lives under the bundles root, as rootless.test.ts's does.
  const layout = stateLayout(join(bundlesDir, 'dev-daemon-rootless-delve-test'));
  let listen = '';
  let daemon: Foreground;

  beforeAll(async () => {
    await runTask('dev-daemon', ['stop', '--rootless', '--state', layout.stateDir, '--bundles', bundlesDir]); // a killed run's leftovers
    await rm(layout.stateDir, { recursive: true, force: true });
    listen = `127.0.0.1:${await freePort()}`;
    daemon = await startUnderDelve(['--rootless', '--debug-port', listen, '--state', layout.stateDir, '--bundles', bundlesDir]);
  });

  afterAll(() => interrupt(daemon));

  it("runs the debug build of dockerd as delve's child, both as the rootless user", () => {
    expect(daemon.output()).toContain(`delve (API v2) listens on ${listen}`);
    const record = readRecord(layout);
    const uid = String(record?.rootless?.uid);
    expect(Number(uid)).toBeGreaterThan(0);
    const pid = Number(readFileSync(layout.pidFile, 'utf8'));
    expect(exeOf(pid)).toBe(realpathSync(join(bundlesDir, 'debug', 'binary-daemon', 'dockerd')));
    const delve = parentOf(pid) ?? 0;
    expect(argvOf(delve)[0]).toMatch(/dlv$/);
    expect(record?.debuggerPid).toBe(delve);
    for (const each of [pid, delve]) expect(statusField(each, 'Uid')[0]).toBe(uid);
  });

  it('stops at a breakpoint on the /info handler through the forwarded port', async () => {
    await breakOnInfo(listen, layout.socket);
  });

  it('stops dockerd, delve and rootlesskit on Ctrl-C, closes the port and leaves nothing behind', async () => {
    daemon.child.kill('SIGINT');
    expect(await daemon.exited).toBe(0);
    expect(processesUnder(layout.stateDir)).toEqual([]);
    expect(mountsUnder(layout.stateDir)).toEqual([]);
    await expect(DelveClient.connect(listen)).rejects.toThrow(/ECONNREFUSED/);
  });
});
