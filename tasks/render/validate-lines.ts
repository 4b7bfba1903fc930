import { formatLines, toStderr, type Line, type LineFormats } from '../../core/events.js';
import type { ValidateEvent } from '../../validate/events.js';
import { formatFinding, type CheckResult } from '../../validate/model.js';
import type { RowView } from './listr.js';

type Summary = Extract<ValidateEvent, { type: 'validate-summary' }>;

/** `passed (12.3s)` or `failed: 3 findings (0.4s)`: one line per check, as the results ask. */
function verdict(result: CheckResult): string {
  const time = `(${result.seconds.toFixed(1)}s)`;
  if (result.outcome === 'passed') return `passed ${time}`;
  if (result.error) return `failed: ${result.error} ${time}`;
  return `failed: ${result.findings.length} finding${result.findings.length === 1 ? '' : 's'} ${time}`;
}

/** The findings (to stderr, so they stay visible when stdout is redirected), then the notes. */
function resultLines(result: CheckResult): Line[] {
  return [...toStderr(result.findings.map((finding) => `  ${formatFinding(finding)}`)), ...result.notes.map((note) => `  ${note}`)];
}

function summaryLines(event: Summary): Line[] {
  const failed = event.results.filter((result) => result.outcome === 'failed');
  const line = `validate: ${event.results.length - failed.length} passed, ${failed.length} failed in ${event.seconds.toFixed(1)}s; JUnit ${event.junit}, report ${event.report}`;
  return failed.length > 0 ? [{ stderr: `${line} (failed: ${failed.map(({ check }) => check).join(', ')})` }] : [line];
}

export const validateLines: LineFormats<ValidateEvent> = {
  'validate-tree': (event) => [
    `validating ${event.kind} ${event.version} at ${event.dir}`,
    ...(event.base ? [`base: ${event.base.ref} (${event.base.commit.slice(0, 12)}, from ${event.base.how})`] : []),
  ],
  'validate-planned': (event) => `checks: ${event.checks.join(', ')}`,
  'validate-step': (event) => event.text,
  'check-started': (event) => `${event.check}: started`,
  'check-progress': (event) => `${event.check}: ${event.text}`,
  'fix-planned': (event) => [`${event.check}: --fix will change ${event.files.length} file(s):`, ...event.files.map((file) => `  ${file}`)],
  'check-finished': (event) => [`${event.result.check}: ${verdict(event.result)}`, ...resultLines(event.result)],
  'validate-summary': summaryLines,
};

/** On a terminal: a row per check; findings and the summary print below once every check is done. */
export const validateRows: RowView<ValidateEvent> = {
  rows: (event) => (event.type === 'validate-planned' ? event.checks : undefined),
  update: (event) => {
    switch (event.type) {
      case 'check-started':
        return { row: event.check, title: (elapsed) => `${event.check} (${elapsed.toFixed(0)}s)` };
      case 'check-progress':
        return { row: event.check, title: (elapsed) => `${event.check} — ${event.text} (${elapsed.toFixed(0)}s)` };
      case 'check-finished':
        return {
          row: event.result.check,
          title: `${event.result.check} — ${verdict(event.result)}`,
          outcome: event.result.outcome === 'passed' ? 'done' : 'failed',
        };
      case 'validate-tree':
      case 'validate-planned':
      case 'validate-step':
      case 'fix-planned':
      case 'validate-summary':
        return undefined;
    }
  },
  after: (event) => {
    switch (event.type) {
      case 'validate-tree':
      case 'validate-step':
      case 'fix-planned':
        return formatLines(validateLines, event);
      case 'check-finished':
        return event.result.outcome === 'passed' && event.result.notes.length === 0 ? [] : [`${event.result.check}:`, ...resultLines(event.result)];
      case 'validate-summary':
        return summaryLines(event);
      case 'validate-planned':
      case 'check-started':
      case 'check-progress':
        return [];
    }
  },
};
