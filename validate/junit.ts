import { formatFinding, type CheckResult } from './model.js';

function escape(text: string): string {
  return text.replace(/[<>&"]/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[char] ?? char);
}

/** One <testcase> per check, its findings (or the error that stopped it) as the failure's text, as CI dashboards read JUnit. */
export function validateJunit(results: readonly CheckResult[]): string {
  const failures = results.filter((result) => result.outcome === 'failed').length;
  const time = results.reduce((sum, result) => sum + result.seconds, 0);
  const cases = results.map((result) => {
    const open = `  <testcase classname="validate" name="${result.check}" time="${result.seconds.toFixed(3)}"`;
    if (result.outcome === 'passed') return `${open}></testcase>`;
    const summary = result.error ?? `${result.findings.length} finding(s)`;
    const body = [...(result.error ? [result.error] : []), ...result.findings.map(formatFinding)].join('\n');
    return `${open}>\n    <failure message="${escape(summary)}">${escape(body)}</failure>\n  </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${results.length}" failures="${failures}" time="${time.toFixed(3)}">`,
    `<testsuite name="validate" tests="${results.length}" failures="${failures}" errors="0" skipped="0" time="${time.toFixed(3)}">`,
    ...cases,
    '</testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
