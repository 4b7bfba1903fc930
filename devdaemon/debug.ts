import { setTimeout as sleep } from 'node:timers/promises';
import { running } from '../core/procfs.js';

/** dockerd under delve: the dlv binary and the loopback address its API listens on. */
export interface DebuggerLaunch {
  dlv: string;
  listen: string;
}

/**
 * moby's `hack/make/run` with DELVE_PORT, minus what it opens up: headless,
 * the daemon running at once (--continue), several clients one after the
 * other, API v2; but only on loopback and only for this user (delve's
 * default --only-same-user, which moby turns off). `sameUserOnly` is false
 * only behind a forward of ours that checks the user instead
 * (core/debug-forward.ts).
 */
export function underDebugger(debug: DebuggerLaunch, dockerd: string, dockerdArgv: readonly string[], sameUserOnly = true): string[] {
  const users = sameUserOnly ? [] : ['--only-same-user=false'];
  return [
    debug.dlv,
    'exec',
    '--headless',
    '--continue',
    '--accept-multiclient',
    '--api-version=2',
    ...users,
    `--listen=${debug.listen}`,
    dockerd,
    '--',
    ...dockerdArgv,
  ];
}

/** Resolves once the process is gone: delve outlives the dockerd it runs, so its exit cannot tell. */
export async function whenGone(pid: number, intervalMs = 250): Promise<void> {
  while (running(pid)) await sleep(intervalMs);
}
