import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundlePaths } from '../../core/bundle-layout.js';
import { emptyManifest, MANIFEST_FILE, serializeManifest } from '../../core/manifest.js';
import type { ValidateEvent } from '../../validate/events.js';
import { runTask } from './cli.js';
import { tempDir } from './temp.js';

/** A bundles root whose manifest says dockerd was built from `dir` at `commit`, as make records a DAEMON_SRC build; validate reads nothing else of it. */
export function bundlesFor(dir: string, commit: string): string {
  const root = tempDir('validate-bundles');
  const manifest = emptyManifest();
  manifest.components.daemon = {
    fingerprint: '0'.repeat(64),
    source: { kind: 'path', identity: `git ${commit}`, version: 'checkout', commit, origin: { dir } },
    extraSources: {},
    toolchain: {},
    commands: [],
    outputs: [],
  };
  const bundle = bundlePaths(root).current;
  mkdirSync(bundle, { recursive: true });
  writeFileSync(join(bundle, MANIFEST_FILE), serializeManifest(manifest));
  return root;
}

/** `npm run validate -- --output json` with DAEMON_SRC: its exit code, output, events and the summary's results. */
export async function validateJson(bundles: string, daemonSrc: string, args: string[], env: Record<string, string> = {}) {
  const result = await runTask('validate', ['--bundles', bundles, '--output', 'json', ...args], { DAEMON_SRC: daemonSrc, ...env });
  const events = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as ValidateEvent);
  const summary = events.find((event) => event.type === 'validate-summary');
  return { ...result, events, results: summary?.type === 'validate-summary' ? summary.results : [] };
}
