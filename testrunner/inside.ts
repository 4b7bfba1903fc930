import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Listener } from '../core/events.js';
import type { LayoutStep } from './dev-container/layout.js';
import type { PackageResult, TestRunEvent } from './events.js';
import { HOST_FACTS_FILE, kernelDifferences, probeHostFacts } from './host-facts.js';
import { runPackage, type PackageRun } from './run-package.js';

/**
 * Everything the part inside the namespaces needs, prepared outside (where
 * the module proxy is reachable and the binaries are compiled) and handed
 * over as one JSON file.
 */
export interface InsideConfig {
  bundlesDir: string;
  cacheDir: string;
  gotestsum: string;
  /** Present for the integration suites: the test daemon to start first. */
  daemon?: {
    stateDir: string;
    logFile: string;
    dockerdArgs: string[];
    /** DOCKER_ROOTLESS: the account dockerd-rootless.sh runs as, as moby's start script does. */
    rootlessUser?: string;
    /** `name=value` sysctls of the namespace's, set before the daemon starts. */
    sysctls: string[];
  };
  runs: PackageRun[];
  failFast: boolean;
  /** Under DELVE_PORT: delve's socket for each package in turn, and the host address that leads to it. */
  debugger?: { socket: string; listen: string };
  testEnv: Record<string, string>;
  /** moby's dev container, laid out in the namespace before anything else (dev-container/). */
  devContainer?: LayoutStep[];
}

export async function writeInsideConfig(file: string, config: InsideConfig): Promise<void> {
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
}

export async function readInsideConfig(file: string): Promise<InsideConfig> {
  return JSON.parse(await readFile(file, 'utf8')) as InsideConfig;
}

/** One package after another, as moby's run_test_integration_suites; TEST_INTEGRATION_FAIL_FAST stops at the first failing one. */
export async function runPackages(config: InsideConfig, onEvent: Listener<TestRunEvent>, signal?: AbortSignal): Promise<PackageResult[]> {
  const results: PackageResult[] = [];
  const facts = await probeHostFacts();
  // Beside the reports, so a merge of them elsewhere (npm run test-report) names the same causes.
  const first = config.runs[0];
  if (first) await writeFile(join(dirname(first.jsonFile), HOST_FACTS_FILE), `${JSON.stringify(facts)}\n`);
  const differences = kernelDifferences(facts);
  if (differences.length > 0) onEvent({ type: 'kernel-differences', differences });
  for (const pkg of config.runs) {
    if (signal?.aborted) break;
    if (config.debugger) {
      await rm(config.debugger.socket, { force: true }); // the previous package's delve may have left it
      onEvent({ type: 'debugger-waiting', dir: pkg.dir, listen: config.debugger.listen, socket: config.debugger.socket });
    }
    const result = await runPackage(config.gotestsum, pkg, config.testEnv, onEvent, facts, signal);
    results.push(result);
    if (config.failFast && result.exitCode !== 0) break;
  }
  return results;
}

/** Events cross the namespace boundary as JSON lines on stdout, like --output json. */
export function eventLine(event: TestRunEvent): string {
  return JSON.stringify(event);
}

export function parseEventLine(line: string): TestRunEvent | undefined {
  try {
    const parsed = JSON.parse(line) as { type?: unknown };
    return typeof parsed.type === 'string' ? (parsed as TestRunEvent) : undefined;
  } catch {
    return undefined;
  }
}
