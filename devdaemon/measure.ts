import { mkdtempSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundlePaths } from '../core/bundle-layout.js';
import { waitForPing } from './client.js';
import { launchDockerd } from './command.js';
import { stateLayout } from './layout.js';
import { createBridge, planBridge } from './network.js';
import { startDaemon } from './start.js';
import { writeRecord } from './state.js';
import { stopDaemon } from './stop.js';
import { mountsUnder } from './leftovers.js';
import { median } from '../core/stats.js';
import type { Env } from '../core/env.js';

export interface StartupOptions {
  bundlesDir: string;
  dockerdArgs?: readonly string[];
  rounds?: number;
  env?: Env;
  /** A throw-away state folder is made (and removed) when none is given. */
  stateDir?: string;
}

export interface StartupMeasurement {
  /** startDaemon() called → API answers: verification, bridge, spawn, ping. */
  devDaemonSeconds: number[];
  /** Spawn of the bundled dockerd with the same argv and environment → API answers. */
  rawDockerdSeconds: number[];
  medianDevDaemon: number;
  medianRawDockerd: number;
  /** medianDevDaemon − medianRawDockerd: what the supervisor costs. */
  overheadSeconds: number;
}

/**
 * For the bench: the dev daemon against the bare dockerd, alternating on one
 * warmed-up state folder so both see the same data-root. Both poll the socket
 * the same way; the raw run gets its bridge made beforehand, untimed, since
 * dockerd cannot start without it.
 */
export async function measureStartup(options: StartupOptions): Promise<StartupMeasurement> {
  const env = options.env ?? process.env;
  const rounds = options.rounds ?? 5;
  const dockerdArgs = options.dockerdArgs ?? [];
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'mmk-bench-'));
  const start = () => startDaemon({ bundlesDir: options.bundlesDir, stateDir, dockerdArgs, env, onEvent: () => undefined });
  const devDaemonSeconds: number[] = [];
  const rawDockerdSeconds: number[] = [];
  try {
    const warmUp = await start();
    await stopDaemon(warmUp.layout, env);
    for (let round = 0; round < rounds; round += 1) {
      const daemon = await start();
      devDaemonSeconds.push(daemon.record.readySeconds);
      await stopDaemon(daemon.layout, env);
      rawDockerdSeconds.push(await rawStartup(options.bundlesDir, stateDir, dockerdArgs, env));
    }
  } finally {
    const layout = stateLayout(stateDir);
    await stopDaemon(layout, env);
    if (!options.stateDir && mountsUnder(stateDir).length === 0) await rm(stateDir, { recursive: true, force: true });
  }
  const medianDevDaemon = median(devDaemonSeconds);
  const medianRawDockerd = median(rawDockerdSeconds);
  return { devDaemonSeconds, rawDockerdSeconds, medianDevDaemon, medianRawDockerd, overheadSeconds: medianDevDaemon - medianRawDockerd };
}

async function rawStartup(bundlesDir: string, stateDir: string, dockerdArgs: readonly string[], env: Env): Promise<number> {
  const layout = stateLayout(stateDir);
  const bundleDir = bundlePaths(bundlesDir).current;
  const bridge = planBridge(stateDir);
  await createBridge(bridge, env);
  await writeFile(layout.configFile, '{}\n');
  const began = performance.now();
  const { child, exitStatus } = launchDockerd(layout, bundleDir, bridge, dockerdArgs, env, join(stateDir, 'raw-dockerd.log'));
  const ready = await waitForPing(layout.socket, () => exitStatus() !== undefined);
  const seconds = (performance.now() - began) / 1000;
  // Recorded like a dev daemon's, so the usual stop removes it and its bridge.
  await writeRecord(layout, {
    pid: child.pid ?? 0,
    dockerHost: '',
    bridge: bridge.name,
    subnet: bridge.subnet,
    bundleDir,
    logFile: '',
    startedAt: '',
    readySeconds: seconds,
  });
  await stopDaemon(layout, env);
  if (!ready) throw new Error(`the bundled dockerd did not start; see ${join(stateDir, 'raw-dockerd.log')}`);
  return seconds;
}
