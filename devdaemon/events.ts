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
  | RootlessEvent;

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
