import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { UserError } from '../core/errors.js';
import type { Env } from '../core/env.js';
import { lastLine, run } from '../core/process.js';
import type { IntegrationOptions } from './options.js';

export const INTEGRATION_CLI_DIR = './integration-cli';

/** The suites one run has: integration packages, and integration-cli when it is not skipped. */
export interface SuitePlan {
  integrationDirs: string[];
  runIntegrationCli: boolean;
  /** Why a suite does not run, for the summary (never a silent skip). */
  notes: string[];
}

/**
 * moby's setup_integration_test_filter, then its package list: TEST_FILTER
 * picks the directories whose *_test.go declare a matching test; without
 * TEST_INTEGRATION_DIR every package under integration/ with tests runs.
 * One difference: naming packages explicitly runs only those, integration-cli
 * included only when it is named (moby would add it to any list).
 */
export async function planSuites(options: IntegrationOptions, sourceDir: string, env: Env): Promise<SuitePlan> {
  const notes: string[] = [];
  let skipIntegration = options.skipIntegration;
  let skipCli = options.skipIntegrationCli;
  let dirs = options.dirs?.filter((dir) => dir !== INTEGRATION_CLI_DIR);
  if (options.dirs && !options.dirs.includes(INTEGRATION_CLI_DIR)) skipCli = true;
  if (options.skipIntegration) notes.push('integration: skipped (TEST_SKIP_INTEGRATION)');
  if (options.skipIntegrationCli) notes.push('integration-cli: skipped (TEST_SKIP_INTEGRATION_CLI)');

  if (options.filter !== undefined) {
    const matching = await dirsDeclaring(sourceDir, options.filter);
    if (!skipIntegration && dirs === undefined) {
      dirs = matching.filter((dir) => dir !== INTEGRATION_CLI_DIR);
      if (dirs.length === 0) {
        notes.push(`integration: skipped, the filter "${options.filter}" omits all integration tests`);
        skipIntegration = true;
      }
    }
    if (!skipCli && !matching.includes(INTEGRATION_CLI_DIR)) {
      notes.push(`integration-cli: skipped, the filter "${options.filter}" omits all integration-cli tests`);
      skipCli = true;
    }
  }
  if (!skipIntegration && dirs === undefined) dirs = await packagesWithTests(sourceDir, './integration/...', env);
  return { integrationDirs: skipIntegration ? [] : (dirs ?? []), runIntegrationCli: !skipCli, notes };
}

/** `go list -test` reports a package once per test variant; its Dir, relative as moby names it. */
export async function packagesWithTests(sourceDir: string, pattern: string, env: Env): Promise<string[]> {
  const result = await run(['go', 'list', '-test', '-f', '{{- if ne .ForTest "" -}}{{- .Dir -}}{{- end -}}', pattern], { cwd: sourceDir, env });
  if (result.exitCode !== 0) throw new UserError(`go list ${pattern} failed in ${sourceDir}: ${lastLine(result.stderr)}`);
  const dirs = result.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((dir) => `./${relative(sourceDir, dir)}`);
  return [...new Set(dirs)];
}

/** The grep of setup_integration_test_filter: `func .*FILTER.*\(. \*testing\.T\)` in ./integration*\/ *_test.go. */
export async function dirsDeclaring(sourceDir: string, filter: string): Promise<string[]> {
  let pattern: RegExp;
  try {
    pattern = new RegExp(`func .*${filter}.*\\(. \\*testing\\.T\\)`);
  } catch {
    throw new UserError(`TEST_FILTER=${filter} is not a regular expression`);
  }
  const roots = (await readdir(sourceDir, { withFileTypes: true })).filter((entry) => entry.isDirectory() && entry.name.startsWith('integration'));
  const found = new Set<string>();
  for (const root of roots) {
    const entries = await readdir(join(sourceDir, root.name), { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.endsWith('_test.go')) continue;
      const file = join(entry.parentPath, entry.name);
      const text = await readFile(file, 'utf8');
      if (text.split('\n').some((line) => pattern.test(line))) found.add(`./${relative(sourceDir, entry.parentPath)}`);
    }
  }
  return [...found].sort();
}

/** moby's pkgname: `<GOARCH>.` and the directory with dots, e.g. amd64.integration.container. */
export function junitPackageName(dir: string, goarch: string): string {
  const trimmed = dir.replace(/^\.?\/*/, '').replace(/\/+$/, '');
  return `${goarch}.${trimmed.replaceAll('/', '.')}`;
}

/** The file stem moby gives a package's reports: the package name with dashes. */
export function reportStem(pkgname: string): string {
  return pkgname.replaceAll('.', '-');
}
