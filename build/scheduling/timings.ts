import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How long each component took to build last time. Kept beside the logs, not
 * in the manifest, so identical bundles keep identical manifests.
 */
export type Timings = Record<string, number>;

const FILE = 'timings.json';

export function readTimings(logsDir: string): Timings {
  try {
    return JSON.parse(readFileSync(join(logsDir, FILE), 'utf8')) as Timings;
  } catch {
    return {};
  }
}

export function writeTimings(logsDir: string, timings: Timings): void {
  writeFileSync(join(logsDir, FILE), `${JSON.stringify(timings, null, 2)}\n`);
}
