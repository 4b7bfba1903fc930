import { nextSteps } from './cli/commands.js';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UserError } from '../core/errors.js';
import { mergeReports } from '../testrunner/report-merge.js';
import { runMain } from './cli/run-main.js';
import { testRenderer } from './cli/test-suites.js';
import { defaultBundlesDir } from './paths.js';

const HELP = `Usage: npm run test-report -- [--into DIR] [--output tty|plain|json] RESULTS_DIR...

Merges the reports of several test runs — the shards of a CI matrix
(--shard I/N), runs on other machines, the lanes of --jobs — into one
summary, as one run would print it: per package (or integration-cli suite)
passed, failed, skipped, each failure with its recognised cause. A package
or suite in more than one folder counts once, from its newest report; the
others are named. Writes merged-junit-report.xml (every testsuite under one
<testsuites>) and merged-go-test-report.json to --into (default
bundles/test-report/). Exit 1 when a test failed.`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { into: { type: 'string' }, output: { type: 'string' }, verbose: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(HELP + nextSteps('test-report'));
    return 0;
  }
  if (positionals.length === 0) throw new UserError('no results folders to merge', 'Name them: npm run test-report -- bundles/test-integration-shard-1-of-2 …');
  const began = performance.now();
  const renderer = testRenderer(values.output, process.env);
  try {
    const into = resolve(values.into ?? `${defaultBundlesDir(process.env)}/test-report`);
    const merged = await mergeReports(
      positionals.map((dir) => resolve(dir)),
      into,
    );
    const notes = [
      `merged ${merged.packages.length} reports from ${positionals.length} folders: ${merged.junitFile}, ${merged.jsonFile}`,
      ...(merged.classifiedWithFacts ? [] : ['no host-facts.json beside the reports: failures the kernel explains are not labelled so']),
      ...(merged.duplicates.length > 0 ? [`counted once (a newer report of the same package is in another folder): ${merged.duplicates.join(', ')}`] : []),
    ];
    renderer.onEvent({ type: 'summary', packages: merged.packages, notes, seconds: (performance.now() - began) / 1000, resultsDir: into });
    return merged.packages.every((pkg) => pkg.exitCode === 0) ? 0 : 1;
  } finally {
    await renderer.finished();
  }
}

await runMain(main);
