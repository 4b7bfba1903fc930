import { addCounts, emptyCounts, type PackageResult } from './events.js';

const NOT_RECOGNISED = 'cause not recognised: look at the daemon or the change';

/** The per-package table: passed / failed / skipped / minutes, and a total row. */
export function summaryTable(packages: readonly PackageResult[]): string[] {
  const rows = packages.map((p) => [p.dir, String(p.counts.passed), String(p.counts.failed), String(p.counts.skipped), (p.seconds / 60).toFixed(1)]);
  const total = packages.reduce((sum, p) => addCounts(sum, p.counts), emptyCounts());
  const minutes = packages.reduce((sum, p) => sum + p.seconds, 0) / 60;
  rows.push(['total', String(total.passed), String(total.failed), String(total.skipped), minutes.toFixed(1)]);
  const header = ['package', 'passed', 'failed', 'skipped', 'minutes'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: readonly string[]) =>
    row.map((cell, column) => (column === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
  return [format(header), ...rows.map(format)];
}

/** Each failure: package, test, its recognised cause, and its last lines indented. */
export function failureLines(packages: readonly PackageResult[]): string[] {
  const lines: string[] = [];
  for (const failure of packages.flatMap((p) => p.failures)) {
    lines.push(`FAIL ${failure.dir} ${failure.test} — ${failure.cause ?? NOT_RECOGNISED}`);
    for (const line of failure.lines) lines.push(`    ${line}`);
  }
  return lines;
}

/** Share of the tests that ran (passed + failed) that passed, in percent. */
export function passRate(packages: readonly PackageResult[]): number {
  const total = packages.reduce((sum, p) => addCounts(sum, p.counts), emptyCounts());
  const ran = total.passed + total.failed;
  return ran === 0 ? 100 : (100 * total.passed) / ran;
}

/**
 * How many failures each cause explains, most first, the unrecognised ones
 * (the contributor's to look at) last, so one glance says whose they are. A
 * parent test that failed only through its subtests is not counted again.
 */
export function causeLines(packages: readonly PackageResult[]): string[] {
  const failures = packages.flatMap((p) => p.failures);
  if (failures.length === 0) return [];
  const byCause = new Map<string, number>();
  for (const failure of failures) if (failure.cause) byCause.set(failure.cause, (byCause.get(failure.cause) ?? 0) + 1);
  const unrecognised = failures.filter((failure) => !failure.cause).length;
  const rows = [...byCause].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const width = String(failures.length).length;
  return [
    `failures by cause (${failures.length}):`,
    ...rows.map(([cause, count]) => `  ${String(count).padStart(width)}  ${cause}`),
    `  ${String(unrecognised).padStart(width)}  ${NOT_RECOGNISED}`,
  ];
}
