import type { LineFormats } from '../../core/events.js';
import type { Counts, TestRunEvent } from '../../testrunner/events.js';
import { causeLines, failureLines, passRate, summaryTable } from '../../testrunner/summary.js';

const OUTCOME = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' } as const;

export function countsText(counts: Counts): string {
  return `passed ${counts.passed}, failed ${counts.failed}, skipped ${counts.skipped}`;
}

/** `npm run test-integration` and `npm run test-unit` as plain lines (CI, pipes). */
export const testLines: LineFormats<TestRunEvent> = {
  source: (event) => `source: ${event.kind} ${event.version} (${event.dir})`,
  step: (event) => event.text,
  'daemon-ready': (event) => `test daemon ready in ${event.seconds.toFixed(1)}s: unix://${event.socket} (log ${event.logFile})`,
  installing: (event) => `installing missing prerequisites with apt-get: ${event.packages.join(' ')} (set MOBY_MAKE_NO_INSTALL=1 to turn this off)`,
  compiled: (event) => `compiled ${event.dir} (${event.index}/${event.total}) in ${event.seconds.toFixed(1)}s`,
  'package-started': (event) => `=== ${event.job !== undefined ? `[job ${event.job}] ` : ''}${event.dir} (${event.index}/${event.total})`,
  'jobs-started': (event) => `running ${event.jobs.length} jobs side by side, each with its own namespaces, test daemon and DEST (job-N/)`,
  'debugger-waiting': (event) => `${event.dir} waits under delve: dlv connect ${event.listen} (or unix:${event.socket}); set breakpoints, then continue`,
  'test-finished': (event) =>
    `${OUTCOME[event.outcome]} ${event.dir} ${event.test} (${event.seconds.toFixed(2)}s) [${countsText(event.counts)}; ${event.elapsed.toFixed(0)}s]`,
  'package-finished': (event) => `${event.result.dir}: ${countsText(event.result.counts)} in ${(event.result.seconds / 60).toFixed(1)} min`,
  'suite-skipped': (event) => `${event.suite}: ${event.reason}`,
  'kernel-differences': (event) => `this kernel differs from moby's CI hosts: ${event.differences.join('; ')}`,
  summary: (event) => [
    '',
    ...summaryTable(event.packages),
    ...event.notes,
    ...(event.packages.length > 0 ? [`${passRate(event.packages).toFixed(1)}% of the tests that ran passed`] : []),
    ...failureLines(event.packages),
    ...causeLines(event.packages),
    `results (go test -json, JUnit XML): ${event.resultsDir}`,
  ],
};
