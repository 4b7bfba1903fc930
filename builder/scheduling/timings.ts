import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '../../core/json-file.js';

/**
 * How long each component took to build last time. Kept beside the logs, not
 * in the manifest, so identical bundles keep identical manifests.
 */
const timingsSchema = z.record(z.string(), z.number().nonnegative());
export type Timings = z.infer<typeof timingsSchema>;

const FILE = 'timings.json';

/** Last build's seconds per component; nothing known (the cost hints decide) when the file is missing or damaged. */
export function readTimings(logsDir: string): Timings {
  return readJsonFile(join(logsDir, FILE), timingsSchema) ?? {};
}

export function writeTimings(logsDir: string, timings: Timings): void {
  writeFileSync(join(logsDir, FILE), `${JSON.stringify(timings, null, 2)}\n`);
}
