import type { RootlessEvent } from './rootless/events.js';
import type { DaemonRecord } from './state.js';
import type { StopResult } from './stop.js';

/** Everything the dev daemon tells its user, as data; tasks/render/dev-daemon-lines.ts says how it reads. */
export type DevDaemonEvent =
  | { type: 'installing'; packages: readonly string[] }
  | { type: 'stale-cleaned'; pid?: number; leftoverProcesses: number; leftoverMounts: number }
  /** Started and proven: the API answers and the daemon runs the bundle's runc, containerd and docker-init. */
  | {
      type: 'ready';
      pid: number;
      seconds: number;
      dockerHost: string;
      logFile: string;
      detached: boolean;
      logToTerminal: boolean;
      /** The account a rootless daemon runs as. */
      rootlessUser?: string;
      /** bundles/binary-client, when it holds a docker CLI built from source. */
      clientDir?: string;
      /** Where delve's API listens, when dockerd runs under it. */
      debugListen?: string;
    }
  /** A line of dockerd's own log, followed while it runs in the foreground. */
  | { type: 'log'; line: string }
  | { type: 'stopping' }
  /** Another Ctrl-C while stopping: the stop is already under way and bounded. */
  | { type: 'stop-pending' }
  | { type: 'stopped'; stateDir: string; pid?: number; killed: boolean; leftoverProcesses: number; leftoverMounts: number; interrupted: boolean }
  /** dockerd ended without being asked; its log's last lines when it did not go to the terminal. */
  | { type: 'exited'; status: number | NodeJS.Signals; logTail: string[] }
  | { type: 'status'; stateDir: string; pid?: number; responding: boolean; dockerHost: string; record?: DaemonRecord }
  | { type: 'reloaded'; pid: number; configFile: string }
  | RootlessEvent
  | WatchEvent;

/** A build failure as the watch shows it: the compiler's own last lines. */
export interface BuildFailure {
  component: string;
  error: string;
  logFile: string;
  logTail: string[];
}

/** `--watch` (devdaemon/watch.ts): what it watches, then one event per round of edits. */
export type WatchEvent =
  /** `rootless`: containers live in rootlesskit's namespaces, which end with each restart, so --live-restore cannot keep them. */
  | { type: 'watching'; trees: { component: string; dir: string }[]; liveRestore: boolean; rootless: boolean; logFile: string }
  | ({
      type: 'round';
      /** Changed paths, relative to their tree. */
      changed: string[];
      /**
       * The other components of the changed trees (docker-proxy and the rootless
       * scripts beside dockerd's), built once the new dockerd answers; a
       * `round-rest` event follows. Empty when there are none, or when this build failed.
       */
      next: string[];
    } & RoundBuild)
  /** The rest of a round: what building `next` did. */
  | ({ type: 'round-rest' } & RoundBuild);

/** One build of some components in a round, and what it did to the running dockerd. */
export interface RoundBuild {
  components: string[];
  outcome: WatchOutcome;
  rebuildSeconds: number;
  rebuilt: string[];
  restored: string[];
  restartSeconds?: number;
  /** GET /version's GitCommit of the restarted dockerd. */
  gitCommit?: string;
  liveRestore: boolean;
  failures: BuildFailure[];
  /** Why the rebuilt daemon did not start (it stays down until the next good build). */
  startError?: string;
}

/**
 * restarted: a file dockerd runs changed and the new one answers; unchanged:
 * it rebuilt to the same binaries, dockerd kept; failed: the build failed,
 * the running daemon kept; start-failed: the new dockerd did not come up.
 */
export type WatchOutcome = 'restarted' | 'unchanged' | 'failed' | 'start-failed';

/** The `stopped` event for what stopDaemon reports. */
export function stoppedEvent(stateDir: string, result: StopResult, interrupted: boolean): DevDaemonEvent {
  return {
    type: 'stopped',
    stateDir,
    ...(result.pid !== undefined ? { pid: result.pid } : {}),
    killed: result.killed,
    leftoverProcesses: result.leftoverProcesses.length,
    leftoverMounts: result.leftoverMounts.length,
    interrupted,
  };
}
