import { relative } from 'node:path';
import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import type { Listener } from '../core/events.js';
import { readManifest, type Manifest } from '../core/manifest.js';
import { run } from '../core/process.js';
import { DAEMON_STACK } from './bundle-check.js';
import { clientFor } from './client.js';
import { stoppedEvent, type BuildFailure, type DevDaemonEvent, type WatchOutcome } from './events.js';
import { stopForRestart } from './restart.js';
import type { StartedDaemon } from './start.js';
import { stopDaemon, type StopResult } from './stop.js';
import { watchTrees } from './tree-watch.js';

/** A component built from a local tree (DAEMON_SRC, CONTAINERD_SRC, …). */
export interface WatchedTree {
  component: string;
  dir: string;
}

/** What a rebuild of some components gave; the command wires it to the build engine. */
export type RebuildResult = { ok: true; built: string[]; restored: string[] } | { ok: false; built: string[]; restored: string[]; failures: BuildFailure[] };

export interface WatchOptions {
  trees: readonly WatchedTree[];
  /** The bundle the daemon runs (the `binary-daemon` symlink). */
  bundleDir: string;
  rebuild: (components: string[], signal: AbortSignal) => Promise<RebuildResult>;
  /** Starts dockerd again from the bundle, on the bridge of the one it replaces. */
  start: (previous: StartedDaemon | undefined) => Promise<StartedDaemon>;
  liveRestore: boolean;
  env: Env;
  /** Fires on Ctrl-C or SIGTERM. */
  signal: AbortSignal;
  stopTimeoutMs: number;
  onEvent: Listener<DevDaemonEvent>;
  debounceMs?: number;
}

/**
 * The watch loop: every batch of edits under a watched tree rebuilds the
 * components of that tree through the build engine, and dockerd is restarted
 * only when a file it runs (dockerd, containerd, the shim, runc, docker-init,
 * docker-proxy) changed in the bundle. A failed build keeps the running
 * daemon. Ends like the foreground dev daemon, on Ctrl-C, stopping it all.
 */
export async function superviseWatch(first: StartedDaemon, options: WatchOptions): Promise<number> {
  const { onEvent, signal, env } = options;
  let daemon: StartedDaemon | undefined = first;
  let stopped: StopResult;
  const changes: string[] = [];
  let wake: () => void = () => undefined;
  const watcher = watchTrees(
    options.trees.map((tree) => tree.dir),
    (paths) => {
      changes.push(...paths);
      wake();
    },
    options.debounceMs,
  );
  const interrupted = new Promise<'interrupted'>((resolve) => {
    if (signal.aborted) resolve('interrupted');
    signal.addEventListener('abort', () => resolve('interrupted'), { once: true });
  });
  signal.addEventListener('abort', () => process.on('SIGINT', () => onEvent({ type: 'stop-pending' })), { once: true });
  onEvent({ type: 'watching', trees: [...options.trees], liveRestore: options.liveRestore, logFile: first.record.logFile });

  // Whatever ends the loop (Ctrl-C, or an unexpected error) stops the daemon on the way out.
  try {
    for (;;) {
      const arrived = new Promise<'changes'>((resolve) => {
        wake = () => resolve('changes');
        if (changes.length > 0) resolve('changes');
      });
      const exited = daemon ? daemon.exited.then((status) => ({ status })) : new Promise<never>(() => undefined);
      const next = await Promise.race([arrived, interrupted, exited]);
      if (next === 'interrupted') break;
      if (next !== 'changes') {
        onEvent({ type: 'exited', status: next.status, logTail: [] });
        await stopDaemon(daemon?.layout ?? first.layout, env, options.stopTimeoutMs);
        daemon = undefined; // the next build that changes the bundle starts it again
        continue;
      }
      const paths = await sourceChanges(changes.splice(0), options.trees, env);
      if (paths.length === 0) continue;
      daemon = await round(paths, daemon, options);
      if (signal.aborted) break;
    }
  } finally {
    watcher.close();
    onEvent({ type: 'stopping' });
    stopped = await stopDaemon(daemon?.layout ?? first.layout, env, options.stopTimeoutMs);
  }
  onEvent(stoppedEvent(first.layout.stateDir, stopped, true));
  return 0;
}

async function round(paths: string[], daemon: StartedDaemon | undefined, options: WatchOptions): Promise<StartedDaemon | undefined> {
  const components = options.trees.filter((tree) => paths.some((path) => inside(tree.dir, path))).map((tree) => tree.component);
  const changed = paths.map((path) => {
    const tree = options.trees.find((t) => inside(t.dir, path));
    return tree ? relative(tree.dir, path) : path;
  });
  const before = stackDigests(readManifest(options.bundleDir));
  const began = performance.now();
  let result: RebuildResult;
  try {
    result = await options.rebuild(components, options.signal);
  } catch (error) {
    if (options.signal.aborted) return daemon;
    if (!(error instanceof UserError)) throw error;
    // The build could not run at all (a toolchain check, say): like a failed build, the daemon stays.
    result = { ok: false, built: [], restored: [], failures: [{ component: components.join(', '), error: error.message, logFile: '', logTail: [] }] };
  }
  const rebuildSeconds = (performance.now() - began) / 1000;
  const report = (outcome: WatchOutcome, extra: Partial<Extract<DevDaemonEvent, { type: 'round' }>> = {}) =>
    options.onEvent({
      type: 'round',
      changed,
      components,
      outcome,
      rebuildSeconds,
      rebuilt: result.built,
      restored: result.restored,
      liveRestore: options.liveRestore,
      failures: result.ok ? [] : result.failures,
      ...extra,
    });
  if (!result.ok) {
    report('failed');
    return daemon;
  }
  if (daemon && stackDigests(readManifest(options.bundleDir)) === before) {
    report('unchanged');
    return daemon;
  }
  const restartBegan = performance.now();
  if (daemon) await stopForRestart(daemon, options.env, options.liveRestore, options.stopTimeoutMs);
  try {
    const restarted = await options.start(daemon);
    const version = await clientFor(restarted.layout.socket).version();
    report('restarted', { restartSeconds: (performance.now() - restartBegan) / 1000, gitCommit: version.GitCommit });
    return restarted;
  } catch (error) {
    if (!(error instanceof UserError) || options.signal.aborted) throw error;
    report('start-failed', { startError: error.message });
    return undefined;
  }
}

/** The sha256 of every file dockerd runs, as one comparable string. */
function stackDigests(manifest: Manifest): string {
  return DAEMON_STACK.map((name) => manifest.files[name]?.sha256 ?? '-').join(' ');
}

function inside(dir: string, path: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/** Drops what git ignores (build outputs, generated files): they are not part of the source's identity either. */
async function sourceChanges(paths: readonly string[], trees: readonly WatchedTree[], env: Env): Promise<string[]> {
  const kept: string[] = [];
  for (const tree of trees) {
    const mine = [...new Set(paths.filter((path) => inside(tree.dir, path)))];
    if (mine.length === 0) continue;
    const ignored = await run(['git', '-C', tree.dir, 'check-ignore', '--stdin'], { env, input: `${mine.join('\n')}\n` });
    // exit 1: nothing ignored; 128: not a git checkout (then nothing is ignored either)
    const skip = new Set(ignored.exitCode === 0 ? ignored.stdout.split('\n').filter(Boolean) : []);
    kept.push(...mine.filter((path) => !skip.has(path)));
  }
  return [...new Set(kept)];
}
