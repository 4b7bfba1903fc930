import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, linkSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stepsFor } from '../../builder/recipes/index.js';
import { OUT, SRC } from '../../builder/recipes/steps.js';
import { componentContext, loadComponents } from '../../builder/components.js';
import { stampContext } from '../../builder/make.js';
import { seedBundle } from '../../builder/seed.js';
import { resolvePath } from '../../builder/sources/path.js';
import { bundlePaths } from '../../core/bundle-layout.js';
import type { Env } from '../../core/env.js';
import { readManifest } from '../../core/manifest.js';
import { run } from '../../core/process.js';
import { lastLines } from '../../core/log-tail.js';
import { median } from '../../core/stats.js';
import { waitForPing } from '../../devdaemon/client.js';
import { launchDockerd } from '../../devdaemon/command.js';
import type { DevDaemonEvent } from '../../devdaemon/events.js';
import { stateLayout } from '../../devdaemon/layout.js';
import { createBridge, planBridge } from '../../devdaemon/network.js';
import { startDaemon } from '../../devdaemon/start.js';
import { writeRecord } from '../../devdaemon/state.js';
import { stopDaemon, waitForExit } from '../../devdaemon/stop.js';
import { restartOrder, stampsFollow, superviseWatch } from '../../devdaemon/watch.js';
import { defaultCacheDir, projectRoot } from '../paths.js';
import { prepareDevLoop } from './dev-loop.js';

export interface LoopMeasurement {
  /** edit → the new dockerd published in the bundle through the watch's rebuild, against plain `go build` of dockerd with the same flags. */
  rebuildSeconds: number[];
  /** Of each of those, the time outside the build steps (the go build itself): the watch's own overhead, read off directly rather than as the difference of two noisy build times. */
  overheadSeconds: number[];
  /** The rest of each round, after the new dockerd: the other components of moby's tree (docker-proxy, the rootless scripts). */
  restSeconds: number[];
  /** Those other components, e.g. proxy and rootlesskit. */
  rest: string[];
  goBuildSeconds: number[];
  /** edit → the dev daemon under --watch answering with the new dockerd, against go build + a by-hand restart. */
  watchPingSeconds: number[];
  byHandPingSeconds: number[];
}

export interface LoopBenchOptions {
  bundlesDir: string;
  runs: number;
  dynamic: boolean;
  env: Env;
  log: (line: string) => void;
}

const MOBY_MODULE = 'github.com/moby/moby/v2@v2.0.0-beta.21';

/**
 * The contributor loop against the compiler's own speed, on the real moby
 * source (the pinned module copied into a git checkout, as DAEMON_SRC), each
 * round a fresh one-line edit of daemon/info.go so Go recompiles that package
 * and relinks dockerd; the two sides alternate.
 */
export async function measureLoop(options: LoopBenchOptions): Promise<LoopMeasurement> {
  const scratch = join(options.bundlesDir, `.bench-loop${options.dynamic ? '-dynamic' : ''}`);
  rmSync(scratch, { recursive: true, force: true });
  const checkout = join(scratch, 'moby');
  const goModCache = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
  cpSync(join(goModCache, MOBY_MODULE), checkout, { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', checkout]);
  const git = (...args: string[]) => execFileSync('git', ['-C', checkout, '-c', 'user.email=bench@example.com', '-c', 'user.name=bench', ...args]);
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'bench');
  // The by-hand side edits a copy of its own, so the watch never sees its edits.
  const handCheckout = join(scratch, 'moby-by-hand');
  cpSync(checkout, handCheckout, { recursive: true });
  let edits = 0;
  const editIn = (tree: string) => {
    const infoFile = join(tree, 'daemon', 'info.go');
    const original = readFileSync(infoFile, 'utf8').split('\nvar benchEdit')[0] ?? '';
    writeFileSync(infoFile, `${original}\nvar benchEdit = "${(edits += 1)}"\n\nvar _ = benchEdit\n`);
  };
  const edit = () => editIn(checkout);
  edit();
  editIn(handCheckout);

  const env: Env = { ...options.env, DAEMON_SRC: checkout };
  const loopBundles = join(scratch, 'bundles');
  await seedBundle(bundlePaths(options.bundlesDir), bundlePaths(loopBundles));
  const signal = new AbortController().signal;
  const silent = { onEvent: () => undefined, finished: () => Promise.resolve() };
  options.log('  (first build of the checkout, not timed)');
  const loop = await prepareDevLoop({
    bundlesDir: loopBundles,
    env,
    debug: false,
    dynamic: options.dynamic,
    jobs: availableParallelism(),
    signal,
    renderer: silent,
  });
  const [dockerdFirst, rest] = restartOrder(
    loop.trees.map((tree) => tree.component),
    readManifest(bundlePaths(loopBundles).current),
  );
  /** Rebuilds, and says how long its longest build steps took (components build side by side). */
  const rebuild = async (components: string[]): Promise<number> => {
    let steps = 0;
    const result = await loop.rebuild(components, signal, (event) => {
      if (event.type === 'built') steps = Math.max(steps, event.stepsSeconds);
    });
    if (!result.ok) throw new Error(`the watch's rebuild of ${components.join(', ')} failed: ${result.failures.map((f) => f.error).join('; ')}`);
    return steps;
  };
  const goBuild = await plainGoBuild(checkout, env, options.dynamic, join(scratch, 'plain'));
  const goBuildByHand = await plainGoBuild(handCheckout, env, options.dynamic, join(scratch, 'plain-by-hand'));

  const measurement: LoopMeasurement = {
    rebuildSeconds: [],
    overheadSeconds: [],
    restSeconds: [],
    rest,
    goBuildSeconds: [],
    watchPingSeconds: [],
    byHandPingSeconds: [],
  };
  for (let round = 0; round < options.runs; round += 1) {
    edit();
    measurement.goBuildSeconds.push(await timed(() => goBuild()));
    edit();
    // As in a watch round: dockerd's component alone (with whatever stamps follow it), then the rest, which the restart does not wait for.
    let along: string[] = [];
    let steps = 0;
    const seconds = await timed(async () => {
      steps = await rebuild(dockerdFirst);
      along = stampsFollow(rest, readManifest(bundlePaths(loopBundles).current));
      if (along.length > 0) steps += await rebuild(along);
    });
    measurement.rebuildSeconds.push(seconds);
    measurement.overheadSeconds.push(seconds - steps);
    const after = rest.filter((component) => !along.includes(component));
    if (after.length > 0) measurement.restSeconds.push(await timed(() => rebuild(after)));
    options.log(
      `  round ${round + 1}: go build ${at(measurement.goBuildSeconds, round)} s, watch rebuild ${at(measurement.rebuildSeconds, round)} s (${at(measurement.overheadSeconds, round)} s outside its build steps), then ${rest.join(', ') || 'nothing'} ${at(measurement.restSeconds, round)} s`,
    );
  }

  // Both daemons run side by side, each in its own state folder; only the one being measured is rebuilt and restarted.
  const byHand = await byHandDaemon(join(scratch, 'h'), bundlePaths(loopBundles).current, join(scratch, 'plain-by-hand'), env, options.log);
  const watchState = join(scratch, 'w');
  const controller = new AbortController();
  const waiting = new Map<DevDaemonEvent['type'], (event: DevDaemonEvent) => void>();
  const next = (type: DevDaemonEvent['type']) => new Promise<DevDaemonEvent>((resolve) => waiting.set(type, resolve));
  const first = await startDaemon({ bundlesDir: loopBundles, stateDir: watchState, dockerdArgs: [], env, onEvent: () => undefined });
  const watching = superviseWatch(first, {
    trees: loop.trees,
    bundleDir: bundlePaths(loopBundles).current,
    rebuild: loop.rebuild,
    start: (previous) =>
      startDaemon({
        bundlesDir: loopBundles,
        stateDir: watchState,
        dockerdArgs: [],
        env,
        onEvent: () => undefined,
        ...(previous?.bridge ? { bridge: previous.bridge } : {}),
      }),
    liveRestore: false,
    env,
    signal: controller.signal,
    stopTimeoutMs: 30_000,
    onEvent: (event) => {
      waiting.get(event.type)?.(event);
      waiting.delete(event.type);
    },
  });
  try {
    for (let round = 0; round < options.runs; round += 1) {
      editIn(handCheckout);
      measurement.byHandPingSeconds.push(await timed(async () => byHand.restart(await goBuildByHand())));
      const restarted = next('round');
      const restDone = next('round-rest');
      const began = performance.now();
      edit();
      const event = await restarted;
      if (event.type !== 'round' || event.outcome !== 'restarted') throw new Error(`the watch did not restart dockerd: ${JSON.stringify(event)}`);
      measurement.watchPingSeconds.push((performance.now() - began) / 1000);
      // The rest of the round ends before the next measurement begins, so that it slows neither side.
      if (event.next.length > 0) await restDone;
      options.log(
        `  round ${round + 1}: go build + restart by hand ${at(measurement.byHandPingSeconds, round)} s, watch ${at(measurement.watchPingSeconds, round)} s`,
      );
    }
  } finally {
    controller.abort();
    await watching;
    await byHand.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  return measurement;
}

function at(samples: number[], index: number): string {
  return (samples[index] ?? 0).toFixed(2);
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const began = performance.now();
  await action();
  return (performance.now() - began) / 1000;
}

/** `go build` of dockerd exactly as the daemon component spells it (same tags, ldflags, stamps, env), into `outDir`. */
async function plainGoBuild(checkout: string, env: Env, dynamic: boolean, outDir: string): Promise<() => Promise<string>> {
  const specs = await loadComponents(join(projectRoot, 'components'), componentContext(env, dynamic));
  const daemon = specs.find((spec) => spec.name === 'daemon');
  if (!daemon) throw new Error('no daemon component');
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const source = await resolvePath(
    { kind: 'path', dir: checkout },
    { cacheDir: defaultCacheDir(env), workDir: outDir, log: sink, signal: new AbortController().signal, env },
  );
  const step = stepsFor(daemon, source, stampContext(source, env)).find((s) => s.kind === 'exec');
  if (step?.kind !== 'exec') throw new Error('the daemon has no go build step');
  mkdirSync(outDir, { recursive: true });
  const expand = (text: string) => text.replaceAll(SRC, checkout).replaceAll(OUT, outDir);
  const argv = step.argv.map(expand);
  return async () => {
    const result = await run(argv, { cwd: checkout, env: { ...env, ...step.env } });
    if (result.exitCode !== 0) throw new Error(`go build failed: ${result.stderr.slice(-2000)}`);
    return join(outDir, 'dockerd');
  };
}

/** dockerd started by hand from a bundle copy whose dockerd is the plain build's: stop, swap the binary, start, ping. */
async function byHandDaemon(
  stateDir: string,
  bundleDir: string,
  plainDir: string,
  env: Env,
  log: (line: string) => void,
): Promise<{ restart: (dockerd: string) => Promise<void>; stop: () => Promise<void> }> {
  const handBundle = join(plainDir, 'bundle');
  mkdirSync(handBundle, { recursive: true });
  for (const name of readdirSync(bundleDir)) if (name !== 'dockerd') linkSync(join(bundleDir, name), join(handBundle, name));
  const layout = stateLayout(stateDir);
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(layout.configFile, '{}\n');
  const bridge = planBridge(stateDir);
  await createBridge(bridge, env);
  const logFile = join(stateDir, 'dockerd.log');
  let pid: number | undefined;
  const stop = async () => {
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGTERM');
      await waitForExit(pid, 30_000);
    } catch {
      // Its stop then cost nothing, which flatters this side, never the watch's; say so, and why it ended.
      log(`  (the dockerd started by hand had exited by itself; the last lines of its log:)\n${(await lastLines(logFile, 5)).join('\n')}`);
    }
    pid = undefined;
  };
  return {
    restart: async (dockerd) => {
      await stop();
      rmSync(join(handBundle, 'dockerd'), { force: true });
      linkSync(dockerd, join(handBundle, 'dockerd'));
      const launched = launchDockerd(layout, handBundle, bridge, [], env, logFile);
      pid = launched.child.pid;
      if (!(await waitForPing(layout.socket, () => launched.exitStatus() !== undefined)))
        throw new Error(`dockerd started by hand did not answer; see ${stateDir}/dockerd.log`);
    },
    stop: async () => {
      await stop();
      // Recorded like a dev daemon's, so the usual stop removes its leftovers and bridge.
      await writeRecord(layout, {
        pid: 0,
        dockerHost: '',
        bridge: bridge.name,
        subnet: bridge.subnet,
        bundleDir: handBundle,
        logFile: '',
        startedAt: '',
        readySeconds: 0,
      });
      await stopDaemon(layout, env);
    },
  };
}

export function loopRatios(measurement: LoopMeasurement): { rebuild: number; ping: number; pingExtra: number } {
  const rebuild = median(measurement.rebuildSeconds) / median(measurement.goBuildSeconds);
  const ping = median(measurement.watchPingSeconds) / median(measurement.byHandPingSeconds);
  return { rebuild, ping, pingExtra: median(measurement.watchPingSeconds) - median(measurement.byHandPingSeconds) };
}
