import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedBundle } from '../../builder/seed.js';
import { bundlePaths } from '../../core/bundle-layout.js';
import { readManifest } from '../../core/manifest.js';
import { mountsUnder, processesUnder } from '../../devdaemon/leftovers.js';
import { stateLayout } from '../../devdaemon/layout.js';
import { readRecord } from '../../devdaemon/state.js';
import { defaultBundlesDir } from '../../tasks/paths.js';
import { foregroundDevDaemon, type Foreground } from '../integration/support/foreground.js';
import { tempDir } from '../support/temp.js';
import { mobyCheckout } from '../support/moby-checkout.js';

/**
 * `dev-daemon --watch` on a real moby checkout (the pinned module's source in
 * a git repository of its own, as a contributor's DAEMON_SRC): the real
 * dockerd is rebuilt, restarted and proven on every round.
 */
describe('dev-daemon --watch', () => {
  // Made in beforeAll, so that the file's clean-up knows them (test/support/setup.ts).
  let checkout = '';
  let bundles = '';
  let state = '';
  let infoFile = '';
  let head = '';
  let original = '';
  let cleanDockerd: string | undefined;
  let rootlesskitKey: string | undefined;
  let watch: Foreground | undefined;
  const started = (): Foreground => {
    if (!watch) throw new Error('the watch did not start');
    return watch;
  };
  const rounds = () =>
    started()
      .output()
      .split('\n')
      .filter((line) => / changed: /.test(line));
  const socket = () => join(state, 'docker.sock');

  beforeAll(async () => {
    checkout = join(tempDir('watch-moby'), 'moby');
    bundles = tempDir('watch-bundles');
    state = join(tempDir('watch'), 's');
    infoFile = join(checkout, 'daemon', 'info.go');
    head = mobyCheckout(checkout, 'moby at the pinned tag').head;
    original = readFileSync(infoFile, 'utf8');
    // The rest of the stack comes from the project's bundle when there is one (else the watch's first build makes it).
    await seedBundle(bundlePaths(defaultBundlesDir(process.env)), bundlePaths(bundles));
    watch = foregroundDevDaemon(['--watch', '--bundles', bundles, '--state', state], { DAEMON_SRC: checkout });
    await watch.waitFor(/^dockerd \(pid \d+\) is ready/);
    await watch.waitFor(/^watching /);
    // The same event's next line may arrive in a later chunk of the pipe.
    await watch.waitFor(/^containers (stop|survive) /);
    const manifest = readManifest(join(bundles, 'binary-daemon'));
    cleanDockerd = manifest.files.dockerd?.sha256;
    rootlesskitKey = manifest.components.rootlesskit?.fingerprint;
  });

  afterAll(async () => {
    if (watch && watch.child.exitCode === null) {
      watch.child.kill('SIGINT');
      await watch.exited;
    }
  });

  it('says whether containers survive a restart', () => {
    expect(started().output()).toContain('containers stop at each restart; pass --live-restore to keep them running');
    expect(started().output()).toContain(`watching ${checkout} (daemon)`);
  });

  it('rebuilds and restarts once per edit, and the new dockerd reports the dirty tree', async () => {
    const before = await new Docker({ socketPath: socket() }).version();
    expect(before.GitCommit).toBe(head);
    writeFileSync(infoFile, `${original}\nvar watchEdit = "one"\n\nvar _ = watchEdit\n`);
    const line = await started().waitFor(/ changed: .*restarted dockerd/);
    expect(line).toMatch(/^daemon\/info\.go changed: rebuilt daemon.* in \d+\.\d s; restarted dockerd in \d+\.\d s, GitCommit /);
    expect(line).toContain(`GitCommit ${head}-unsupported`);
    // The first edit of a clean checkout moves docker-proxy's GitCommit stamp too: it builds before the one restart.
    expect(line).toMatch(/: rebuilt daemon, rebuilt proxy in .*; next: rootlesskit$/);
    await sleep(3000); // a second round would have started by now
    expect(rounds()).toHaveLength(1);
    expect((await new Docker({ socketPath: socket() }).version()).GitCommit).toBe(`${head}-unsupported`);
  });

  it('restarts a dirty tree at once after dockerd, then builds the rest of it without a line of its own, and leaves rootlesskit as it was', async () => {
    writeFileSync(infoFile, `${original}\nvar watchEdit = "two"\n\nvar _ = watchEdit\n`);
    const line = await started().waitFor(/ changed: .*; next: proxy, rootlesskit$/);
    expect(line).toMatch(/^daemon\/info\.go changed: rebuilt daemon in \d+\.\d s; restarted dockerd in \d+\.\d s, GitCommit /);
    const sources = () => {
      const { components } = readManifest(join(bundles, 'binary-daemon'));
      return { daemon: components.daemon?.source.identity, proxy: components.proxy?.source.identity };
    };
    await expect.poll(() => sources().proxy, { timeout: 120_000, interval: 500 }).toBe(sources().daemon);
    // Its key holds only the rootless scripts it copies from the tree, which the edits did not touch.
    expect(readManifest(join(bundles, 'binary-daemon')).components.rootlesskit?.fingerprint).toBe(rootlesskitKey);
    expect(started().output()).not.toMatch(/^then /m);
    expect(rounds()).toHaveLength(2);
  });

  it('keeps the running daemon and shows the compiler error when the build fails', async () => {
    const pid = Number(readFileSync(join(state, 'docker.pid'), 'utf8'));
    appendFileSync(infoFile, '\nfunc broken( {\n');
    await started().waitFor(/the build FAILED, the running dockerd is kept/);
    await started().waitFor(/daemon\/info\.go:\d+:\d+: syntax error/); // the compiler's own words, after the status line
    expect(Number(readFileSync(join(state, 'docker.pid'), 'utf8'))).toBe(pid);
    expect(await new Docker({ socketPath: socket() }).ping()).toBeTruthy();
    expect(rounds()).toHaveLength(3);
  });

  it('restores the earlier build without compiling when the edit is undone', async () => {
    writeFileSync(infoFile, original);
    const line = await started().waitFor(/ changed: .*restored daemon.*restarted dockerd/);
    expect(line).not.toMatch(/rebuilt daemon/);
    // Clean again: docker-proxy's stamp follows dockerd's back, from the build kept of the clean tree, before the one restart.
    expect(line).toMatch(/: restored daemon, restored proxy in /);
    expect(line).toContain(`GitCommit ${head}`);
    expect(line).not.toContain('-unsupported');
    expect(readManifest(join(bundles, 'binary-daemon')).files.dockerd?.sha256).toBe(cleanDockerd);
    expect((await new Docker({ socketPath: socket() }).version()).GitCommit).toBe(head);
  });

  it('stops everything on Ctrl-C', async () => {
    started().child.kill('SIGINT');
    expect(await started().exited).toBe(0);
    expect(started().output()).toMatch(/^stopped/m);
    expect(processesUnder(state)).toEqual([]);
  });
});

/**
 * The same loop for a rootless dev daemon: root builds, the daemon restarts as
 * its unprivileged user inside a new rootlesskit. Its bundle and state live
 * under the project's bundles folder, which that user can reach (a test's
 * temporary folder is private to root).
 */
describe('dev-daemon --watch --rootless', () => {
  let checkout = '';
  let head = '';
  let root = '';
  let state = '';
  let watch: Foreground | undefined;
  const started = (): Foreground => {
    if (!watch) throw new Error('the watch did not start');
    return watch;
  };

  beforeAll(async () => {
    checkout = join(tempDir('watch-rootless-moby'), 'moby');
    head = mobyCheckout(checkout, 'moby at the pinned tag').head;
    root = join(defaultBundlesDir(process.env), '.watch-rootless-test');
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    const bundles = join(root, 'bundles');
    state = join(root, 'state');
    await seedBundle(bundlePaths(defaultBundlesDir(process.env)), bundlePaths(bundles));
    watch = foregroundDevDaemon(['--watch', '--rootless', '--bundles', bundles, '--state', state], { DAEMON_SRC: checkout });
    await watch.waitFor(/^dockerd \(pid \d+\) is ready/);
    await watch.waitFor(/^dockerd's log: /);
  });

  afterAll(async () => {
    if (watch && watch.child.exitCode === null) {
      watch.child.kill('SIGINT');
      await watch.exited;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('says containers cannot survive a rootless restart', () => {
    expect(started().output()).toContain("containers stop at each restart: a rootless daemon's live in rootlesskit's namespaces, which end with it");
  });

  it('rebuilds as root and restarts dockerd as the rootless user, in a new rootlesskit', async () => {
    const before = readRecord(stateLayout(state));
    writeFileSync(
      join(checkout, 'daemon', 'info.go'),
      `${readFileSync(join(checkout, 'daemon', 'info.go'), 'utf8')}\nvar watchEdit = "rootless"\n\nvar _ = watchEdit\n`,
    );
    const line = await started().waitFor(/ changed: .*restarted dockerd/);
    expect(line).toContain(`GitCommit ${head}-unsupported`);
    expect((await new Docker({ socketPath: stateLayout(state).socket }).version()).GitCommit).toBe(`${head}-unsupported`);
    const after = readRecord(stateLayout(state));
    expect(after?.rootless?.rootlesskitPid).not.toBe(before?.rootless?.rootlesskitPid);
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${after?.pid ?? 0}/status`, 'utf8'))?.[1];
    expect(Number(uid)).toBe(after?.rootless?.uid);
    expect(after?.rootless?.uid).not.toBe(0);
    // The set-up check speaks at the first start only.
    expect(started().output().split('dockerd-rootless-setuptool.sh check').length - 1).toBeLessThanOrEqual(2);
  });

  it('stops everything on Ctrl-C', async () => {
    started().child.kill('SIGINT');
    expect(await started().exited).toBe(0);
    expect(processesUnder(state)).toEqual([]);
    expect(mountsUnder(state)).toEqual([]);
  });
});
