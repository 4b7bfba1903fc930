import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Env } from '../../core/env.js';
import { median } from '../../core/stats.js';
import { stateLayout } from '../layout.js';
import { mountsUnder } from '../leftovers.js';
import { startDaemon } from '../start.js';
import { stopDaemon } from '../stop.js';

export interface RootlessStartup {
  network: string;
  seconds: number[];
  median: number;
}

/**
 * For the bench: `--rootless` start to API ready (set-up check, rootlesskit,
 * the network driver, dockerd) per rootlesskit network driver, on one warmed-up
 * state folder under the bundles root (the rootless user must reach it).
 */
export async function measureRootlessStartup(bundlesDir: string, network: string, rounds: number, env: Env): Promise<RootlessStartup> {
  const stateDir = mkdtempSync(join(bundlesDir, '.bench-rootless-'));
  const daemonEnv = { ...env, DOCKERD_ROOTLESS_ROOTLESSKIT_NET: network };
  const start = () => startDaemon({ bundlesDir, stateDir, dockerdArgs: [], env: daemonEnv, onEvent: () => undefined, rootless: {} });
  const seconds: number[] = [];
  try {
    await stopDaemon((await start()).layout, env);
    for (let round = 0; round < rounds; round += 1) {
      const daemon = await start();
      seconds.push(daemon.record.readySeconds);
      await stopDaemon(daemon.layout, env);
    }
  } finally {
    await stopDaemon(stateLayout(stateDir), env);
    if (mountsUnder(stateDir).length === 0) await rm(stateDir, { recursive: true, force: true });
  }
  return { network, seconds, median: median(seconds) };
}
