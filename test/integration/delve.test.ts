import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readManifest } from '../../core/manifest.js';
import { processesUnder } from '../../devdaemon/leftovers.js';
import { argvOf, exeOf } from '../../core/procfs.js';
import { DelveClient } from '../support/delve-client.js';
import { freePort } from '../../core/free-port.js';
import { tempDir } from '../support/temp.js';
import { foregroundDevDaemon, type Foreground } from './support/foreground.js';

/** The system router's GET /info handler, as moby names it (daemon/server/router/system/system_routes.go). */
const INFO_HANDLER = 'github.com/moby/moby/v2/daemon/server/router/system.(*systemRouter).getInfo';

describe('dev-daemon --debug-port: dockerd under delve', () => {
  const state = join(tempDir('delve'), 's');
  const bundlesDir = inject('bundlesDir');
  let listen = '';
  let daemon: Foreground;

  beforeAll(async () => {
    listen = `127.0.0.1:${await freePort()}`;
    daemon = foregroundDevDaemon(['--debug-port', listen, '--state', state, '--bundles', bundlesDir]);
    await daemon.waitFor(/^dockerd \(pid \d+\) is ready/);
    // The ready event's later lines may arrive in a later chunk of the pipe.
    await daemon.waitFor(/^delve \(API v2\) listens on /);
  });

  afterAll(async () => {
    if (daemon.child.exitCode === null) {
      daemon.child.kill('SIGINT');
      await daemon.exited;
    }
  });

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
    const parent = Number(/^\d+ \(.*\) \S (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1]);
    expect(argvOf(parent)[0]).toMatch(/dlv$/);
  });

  it('stops at a breakpoint on the /info handler, shows a variable, and the request completes after continue', async () => {
    const delve = await DelveClient.connect(listen);
    try {
      await delve.command('halt');
      const breakpoint = await delve.createBreakpoint(INFO_HANDLER);
      const stopped = delve.command('continue');
      const info = new Docker({ socketPath: join(state, 'docker.sock') }).info() as Promise<{ ID: string }>;
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
  });

  it('stops dockerd and delve on Ctrl-C and leaves nothing behind', async () => {
    daemon.child.kill('SIGINT');
    expect(await daemon.exited).toBe(0);
    expect(processesUnder(state)).toEqual([]);
  });
});
