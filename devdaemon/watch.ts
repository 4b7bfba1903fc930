import { relative } from 'node:path';
import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import type { Listener } from '../core/events.js';
import { readManifest, type Manifest } from '../core/manifest.js';
import { run } from '../core/process.js';
import { DAEMON_STACK } from './bundle-check.js';
import { sourceOfFile } from './commits.js';
import { clientFor } from './client.js';
import { stoppedEvent, type BuildFailure, type DevDaemonEvent, type RoundBuild, type WatchOutcome } from './events.js';
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
  onEvent({
    type: 'watching',
    trees: [...options.trees],
    liveRestore: options.liveRestore,
    rootless: Boolean(first.record.rootless),
    logFile: first.record.logFile,
  });

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
  const [first, next] = restartOrder(components, readManifest(options.bundleDir));
  const built = await buildAndRestart(first, daemon, options, true, (manifest) => stampsFollow(next, manifest));
  if (!built) return daemon;
  const rest = next.filter((component) => !built.step.components.includes(component));
  // After a failed build the bundle stays as the last good round left it: all of a tree's components from the same edit.
  const goOn = built.step.outcome !== 'failed' && rest.length > 0;
  options.onEvent({ type: 'round', changed, next: goOn ? rest : [], ...built.step });
  if (!goOn || options.signal.aborted) return built.daemon;
  // Only now: a publish while dockerd starts would change the bundle its proof reads.
  const restBuilt = await buildAndRestart(rest, built.daemon, options, false);
  if (!restBuilt) return built.daemon;
  options.onEvent({ type: 'round-rest', ...restBuilt.step });
  return restBuilt.daemon;
}

/**
 * dockerd's component first, alone: the restart waits for it and not for the
 * smaller builds of the same tree (docker-proxy, the rootless scripts), which
 * follow once the new dockerd answers.
 */
export function restartOrder(components: readonly string[], manifest: Manifest): [string[], string[]] {
  const daemonComponent = manifest.files.dockerd?.component;
  if (!daemonComponent || !components.includes(daemonComponent) || components.length === 1) return [[...components], []];
  return [[daemonComponent], components.filter((component) => component !== daemonComponent)];
}

/**
 * The components of `candidates` built from dockerd's own checkout whose
 * manifest record names another commit, or another cleanliness, than
 * dockerd's new build: their version stamps (GitCommit, `-unsupported`) move
 * with it, so their files change too (the first edit of a clean checkout,
 * the edit that makes it clean again, a commit) and would restart dockerd a
 * second time. They build before the restart instead.
 */
export function stampsFollow(candidates: readonly string[], manifest: Manifest): string[] {
  const dockerd = sourceOfFile(manifest, 'dockerd');
  if (dockerd?.kind !== 'path') return [];
  return candidates.filter((component) => {
    const source = manifest.components[component]?.source;
    return source?.kind === 'path' && source.origin.dir === dockerd.origin.dir && (source.commit !== dockerd.commit || source.dirty !== dockerd.dirty);
  });
}

/**
 * Rebuilds the components (then those `alongside` names from the manifest
 * they left), then restarts dockerd when a file it runs changed in the
 * bundle, or starts it when it is down and `startWhenDown` says so.
 * Undefined when Ctrl-C interrupted the build.
 */
async function buildAndRestart(
  first: string[],
  daemon: StartedDaemon | undefined,
  options: WatchOptions,
  startWhenDown: boolean,
  alongside: (manifest: Manifest) => string[] = () => [],
): Promise<{ step: RoundBuild; daemon: StartedDaemon | undefined } | undefined> {
  const before = stackDigests(readManifest(options.bundleDir));
  const began = performance.now();
  let result = await rebuildReporting(first, options);
  const along = result?.ok ? alongside(readManifest(options.bundleDir)) : [];
  if (result && along.length > 0) {
    const more = await rebuildReporting(along, options);
    result = more && joinResults(result, more);
  }
  if (!result) return undefined;
  const built = result;
  const components = [...first, ...along];
  const step = (outcome: WatchOutcome, extra: Partial<RoundBuild> = {}): RoundBuild => ({
    components,
    outcome,
    rebuildSeconds: (performance.now() - began) / 1000,
    rebuilt: built.built,
    restored: built.restored,
    liveRestore: options.liveRestore,
    failures: built.ok ? [] : built.failures,
    ...extra,
  });
  if (!built.ok) return { step: step('failed'), daemon };
  if (stackDigests(readManifest(options.bundleDir)) === before && (daemon || !startWhenDown)) return { step: step('unchanged'), daemon };
  const rebuilt = step('restarted');
  const restartBegan = performance.now();
  if (daemon) await stopForRestart(daemon, options.env, options.liveRestore, options.stopTimeoutMs);
  try {
    const restarted = await options.start(daemon);
    const version = await clientFor(restarted.layout.socket).version();
    return { step: { ...rebuilt, restartSeconds: (performance.now() - restartBegan) / 1000, gitCommit: version.GitCommit }, daemon: restarted };
  } catch (error) {
    if (!(error instanceof UserError) || options.signal.aborted) throw error;
    return { step: { ...rebuilt, outcome: 'start-failed', startError: error.message }, daemon: undefined };
  }
}

/** The build engine's answer; a build that could not run at all (a toolchain check, say) is a failed one. Undefined on Ctrl-C. */
async function rebuildReporting(components: string[], options: WatchOptions): Promise<RebuildResult | undefined> {
  try {
    return await options.rebuild(components, options.signal);
  } catch (error) {
    if (options.signal.aborted) return undefined;
    if (!(error instanceof UserError)) throw error;
    return { ok: false, built: [], restored: [], failures: [{ component: components.join(', '), error: error.message, logFile: '', logTail: [] }] };
  }
}

function joinResults(a: RebuildResult, b: RebuildResult): RebuildResult {
  const built = [...a.built, ...b.built];
  const restored = [...a.restored, ...b.restored];
  const failures = [...(a.ok ? [] : a.failures), ...(b.ok ? [] : b.failures)];
  return failures.length > 0 ? { ok: false, built, restored, failures } : { ok: true, built, restored };
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
