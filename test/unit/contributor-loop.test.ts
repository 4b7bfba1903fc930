import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { publish } from '../../builder/bundle.js';
import { pruneBuilds, recallBuild, rememberBuilds } from '../../builder/output-cache.js';
import { bundlePaths } from '../../core/bundle-layout.js';
import { emptyManifest } from '../../core/manifest.js';
import { formatLines } from '../../core/events.js';
import type { DevDaemonEvent } from '../../devdaemon/events.js';
import { restartOrder, stampsFollow } from '../../devdaemon/watch.js';
import { devDaemonLines } from '../../tasks/render/dev-daemon-lines.js';
import { underDebugger } from '../../devdaemon/debug.js';
import { stateLayout } from '../../devdaemon/layout.js';
import { liveRestoreRequested } from '../../devdaemon/restart.js';
import { localTrees } from '../../tasks/lib/dev-loop.js';
import { isEditorScratch, watchTrees } from '../../devdaemon/tree-watch.js';
import { debugListenAddress } from '../../core/loopback.js';
import { parseDevDaemonArgs } from '../../tasks/cli/dev-daemon-args.js';
import { runTask } from '../support/cli.js';
import { tempDir } from '../support/temp.js';

describe('--watch and --debug-port arguments', () => {
  it('parses both and keeps dockerd flags apart', () => {
    const args = parseDevDaemonArgs(['--watch', '--debug-port', '127.0.0.1:2345', '--live-restore']);
    expect(args).toMatchObject({ watch: true, debugPort: '127.0.0.1:2345', dockerdArgs: ['--live-restore'] });
  });

  it('takes --rootless with --watch and with --debug-port', () => {
    expect(parseDevDaemonArgs(['--watch', '--rootless'])).toMatchObject({ watch: true, rootless: true });
    expect(parseDevDaemonArgs(['--rootless', '--debug-port', '2345'])).toMatchObject({ rootless: true, debugPort: '2345' });
  });

  it('refuses --watch with --detach', () => {
    expect(() => parseDevDaemonArgs(['--watch', '--detach'])).toThrow(/--watch runs in the foreground/);
  });

  it("accepts loopback and moby's bare port, refuses other addresses and says why", () => {
    expect(debugListenAddress('127.0.0.1:2345')).toBe('127.0.0.1:2345');
    expect(debugListenAddress('2345')).toBe('127.0.0.1:2345');
    expect(debugListenAddress('[::1]:2345')).toBe('[::1]:2345');
    expect(() => debugListenAddress('0.0.0.0:2345')).toThrow(/delve's API has no authentication and what it debugs runs as root/);
    expect(() => debugListenAddress('10.1.2.3:2345')).toThrow(/no authentication/);
    expect(() => debugListenAddress('127.0.0.1:99999')).toThrow(/is not an address/);
  });

  it('runs dockerd under dlv exec, headless, continuing, on the given address', () => {
    expect(underDebugger({ dlv: '/t/dlv', listen: '127.0.0.1:2345' }, '/b/dockerd', ['--debug'])).toEqual([
      '/t/dlv',
      'exec',
      '--headless',
      '--continue',
      '--accept-multiclient',
      '--api-version=2',
      '--listen=127.0.0.1:2345',
      '/b/dockerd',
      '--',
      '--debug',
    ]);
    // Behind our forward, which checks the user itself, delve's own check is off.
    expect(underDebugger({ dlv: '/t/dlv', listen: 'unix:/s/dlv.sock' }, '/b/dockerd', [], false)).toContain('--only-same-user=false');
  });

  it('refuses a rootless dockerd under delve in the background, before anything runs', async () => {
    for (const [args, env] of [
      [['--rootless', '--debug-port', '2345', '--detach'], {}],
      [['--rootless', '--detach'], { DELVE_PORT: '2345' }],
    ] as const) {
      const result = await runTask('dev-daemon', [...args, '--state', tempDir('rootless-delve')], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("a rootless dockerd under delve runs in the foreground: delve listens in rootlesskit's network namespace");
      expect(result.stderr.trim().split('\n')).toHaveLength(2); // the error and its fix
    }
  });
});

describe('what the watch watches', () => {
  it('finds every tree built from a local checkout, extra trees included', async () => {
    const trees = await localTrees({ ...process.env, DAEMON_SRC: '/src/moby', RUNC_SRC: '/src/runc' }, false);
    expect(trees).toEqual(
      expect.arrayContaining([
        { component: 'daemon', dir: '/src/moby' },
        { component: 'proxy', dir: '/src/moby' },
        { component: 'rootlesskit', dir: '/src/moby' },
        { component: 'runc', dir: '/src/runc' },
      ]),
    );
    expect(trees.some((tree) => tree.component === 'containerd')).toBe(false);
  });

  it("reads --live-restore from dockerd's flags or its daemon.json", () => {
    const layout = stateLayout(tempDir('live-restore'));
    expect(liveRestoreRequested(['--debug'], layout)).toBe(false);
    expect(liveRestoreRequested(['--live-restore'], layout)).toBe(true);
    writeFileSync(layout.configFile, '{"live-restore": true}\n');
    expect(liveRestoreRequested([], layout)).toBe(true);
  });
});

describe('the order of a round', () => {
  const manifest = emptyManifest();
  manifest.files.dockerd = { component: 'daemon', md5: 'm', sha256: 's', size: 1 };

  it("builds dockerd's component alone first and the rest of its tree after the restart", () => {
    expect(restartOrder(['daemon', 'proxy', 'rootlesskit'], manifest)).toEqual([['daemon'], ['proxy', 'rootlesskit']]);
    expect(restartOrder(['proxy', 'daemon'], manifest)).toEqual([['daemon'], ['proxy']]);
  });

  it('builds everything at once in a round without dockerd, or with dockerd alone', () => {
    expect(restartOrder(['runc'], manifest)).toEqual([['runc'], []]);
    expect(restartOrder(['containerd', 'shim'], manifest)).toEqual([['containerd', 'shim'], []]);
    expect(restartOrder(['daemon'], manifest)).toEqual([['daemon'], []]);
    expect(restartOrder(['daemon', 'proxy'], emptyManifest())).toEqual([['daemon', 'proxy'], []]);
  });

  it("builds before the restart what carries the tree's version stamps, when those moved with dockerd's", () => {
    const checkout = (commit: string, dirty: boolean, dir = '/src/moby') => ({
      kind: 'path' as const,
      identity: `git ${commit}${dirty ? ' dirty x' : ''}`,
      version: commit,
      commit,
      dirty,
      origin: { dir },
    });
    const module = { kind: 'module' as const, identity: 'rootlesskit@v3 h1:x', version: 'v3', origin: { module: 'rootlesskit', version: 'v3' } };
    const record = (source: ReturnType<typeof checkout> | typeof module) => ({
      fingerprint: 'f',
      source,
      extraSources: {},
      toolchain: {},
      commands: [],
      outputs: [],
    });
    const stamped = (proxy: ReturnType<typeof checkout>) => {
      const m = emptyManifest();
      m.files.dockerd = { component: 'daemon', md5: 'm', sha256: 's', size: 1 };
      m.components.daemon = record(checkout('a', true));
      m.components.proxy = record(proxy);
      m.components.rootlesskit = record(module);
      return stampsFollow(['proxy', 'rootlesskit'], m);
    };
    expect(stamped(checkout('a', true))).toEqual([]); // an edit of an already dirty tree: the stamps stay
    expect(stamped(checkout('a', false))).toEqual(['proxy']); // the first edit of a clean checkout
    expect(stamped(checkout('b', true))).toEqual(['proxy']); // another commit
    expect(stamped(checkout('b', true, '/src/other'))).toEqual([]); // another tree's
  });

  const build = { rebuildSeconds: 0.42, restored: [], liveRestore: false, failures: [] };
  const text = (event: DevDaemonEvent) => formatLines(devDaemonLines, event).map((line) => (typeof line === 'string' ? line : line.stderr));

  it('says on the round line what builds next, and nothing more when the rest changes nothing', () => {
    const round: DevDaemonEvent = {
      type: 'round',
      changed: ['daemon/info.go'],
      next: ['proxy', 'rootlesskit'],
      components: ['daemon'],
      outcome: 'restarted',
      rebuilt: ['daemon'],
      restartSeconds: 1.04,
      gitCommit: 'abc-unsupported',
      ...build,
    };
    expect(text(round)).toEqual([
      'daemon/info.go changed: rebuilt daemon in 0.4 s; restarted dockerd in 1.0 s, GitCommit abc-unsupported; next: proxy, rootlesskit',
    ]);
    expect(text({ type: 'round-rest', components: ['proxy', 'rootlesskit'], outcome: 'unchanged', rebuilt: ['proxy'], ...build })).toEqual([]);
  });

  it('gives the rest of a round a line when it restarted dockerd again or failed', () => {
    const rest = { type: 'round-rest' as const, components: ['proxy'], rebuilt: ['proxy'], ...build };
    expect(text({ ...rest, outcome: 'restarted', restartSeconds: 0.98, gitCommit: 'abc-unsupported' })).toEqual([
      'then rebuilt proxy in 0.4 s; restarted dockerd in 1.0 s, GitCommit abc-unsupported',
    ]);
    const failures = [{ component: 'proxy', error: '`go build` exited with 1', logFile: '/b/logs/proxy.log', logTail: ['main.go:1:1: syntax error'] }];
    expect(text({ ...rest, outcome: 'failed', rebuilt: [], failures })).toEqual([
      'then nothing to rebuild in 0.4 s; the build FAILED, the running dockerd is kept',
      '--- proxy: `go build` exited with 1; last lines of /b/logs/proxy.log:',
      'main.go:1:1: syntax error',
    ]);
  });
});

describe('watching trees', () => {
  it('knows editor scratch files', () => {
    for (const name of ['.info.go.swp', 'info.go~', '.#info.go', '4913', '#info.go#']) expect(isEditorScratch(name)).toBe(true);
    for (const name of ['info.go', 'swp.go', 'Makefile']) expect(isEditorScratch(name)).toBe(false);
  });

  it('reports one debounced batch per burst of writes, in new folders too, and never .git or swap files', async () => {
    const root = tempDir('tree-watch');
    mkdirSync(join(root, '.git'));
    const batches: string[][] = [];
    const watcher = watchTrees([root], (paths) => batches.push(paths), 100);
    try {
      writeFileSync(join(root, 'a.go'), '1');
      writeFileSync(join(root, '.a.go.swp'), 'x');
      writeFileSync(join(root, '.git', 'index'), 'x');
      mkdirSync(join(root, 'pkg'));
      await sleep(30);
      writeFileSync(join(root, 'pkg', 'b.go'), '2');
      await sleep(400);
      expect(batches).toHaveLength(1);
      expect(batches[0]).toEqual(expect.arrayContaining([join(root, 'a.go'), join(root, 'pkg', 'b.go')]));
      expect(batches[0]?.some((path) => path.includes('.git') || path.endsWith('.swp'))).toBe(false);
    } finally {
      watcher.close();
    }
  });
});

describe('earlier builds kept by fingerprint', () => {
  it('republishes a remembered build and drops one whose file changed', async () => {
    const root = tempDir('builds');
    const paths = bundlePaths(root);
    const staged = join(root, 'staged');
    mkdirSync(staged);
    writeFileSync(join(staged, 'tool'), 'bytes of the first build');
    const fingerprint = 'a'.repeat(64);
    const record = {
      fingerprint,
      source: { kind: 'path' as const, identity: 'git x', version: 'x', origin: { dir: '/src/tool' } },
      extraSources: {},
      toolchain: {},
      commands: [],
    };
    const manifest = await publish(paths, [{ name: 'tool', record, stagedDir: staged, outputs: ['tool'] }], [], emptyManifest());
    await rememberBuilds(paths, manifest, ['tool']);

    expect(await recallBuild(paths, 'tool', 'b'.repeat(64), join(root, 'out-b'))).toBeUndefined();
    const recalled = await recallBuild(paths, 'tool', fingerprint, join(root, 'out-a'));
    expect(recalled).toMatchObject({ name: 'tool', outputs: ['tool'], record: { fingerprint } });

    writeFileSync(join(root, '.builds', 'tool', fingerprint, 'tool'), 'tampered');
    expect(await recallBuild(paths, 'tool', fingerprint, join(root, 'out-c'))).toBeUndefined();
  });

  it('keeps the last 3 fingerprints, making room beside each publish, and never drops the one being published', async () => {
    const root = tempDir('builds-pruned');
    const paths = bundlePaths(root);
    const fingerprints = ['1', '2', '3', '4', '5'].map((digit) => digit.repeat(64));
    let previous = emptyManifest();
    for (const [round, fingerprint] of fingerprints.entries()) {
      const staged = join(root, `staged-${round}`);
      mkdirSync(staged);
      writeFileSync(join(staged, 'tool'), `build ${round}`);
      const record = {
        fingerprint,
        source: { kind: 'path' as const, identity: `git ${round}`, version: 'x', origin: { dir: '/src/tool' } },
        extraSources: {},
        toolchain: {},
        commands: [],
      };
      const built = [{ name: 'tool', record, stagedDir: staged, outputs: ['tool'] }];
      const [manifest] = await Promise.all([publish(paths, built, [], previous), pruneBuilds(paths, [{ component: 'tool', fingerprint }])]);
      await rememberBuilds(paths, manifest, ['tool']);
      previous = manifest;
      await sleep(20); // distinct modification times
    }
    expect(readdirSync(join(root, '.builds', 'tool')).sort()).toEqual(fingerprints.slice(2));
    // Undoing to the oldest kept build: it is published again, and stays.
    const restored = await recallBuild(paths, 'tool', fingerprints[2] ?? '', join(root, 'out-undo'));
    expect(restored).toBeDefined();
    await pruneBuilds(paths, [{ component: 'tool', fingerprint: fingerprints[2] ?? '' }]);
    expect(readdirSync(join(root, '.builds', 'tool'))).toContain(fingerprints[2]);
  });
});
