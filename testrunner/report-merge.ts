import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '../core/errors.js';
import type { PackageResult } from './events.js';
import { HOST_FACTS_FILE, type HostFacts } from './host-facts.js';
import { PackageTally, parseGoTestLine } from './results.js';

const JSON_SUFFIX = '-go-test-report.json';
const JUNIT_SUFFIX = '-junit-report.xml';

/** One package's (or integration-cli suite's) reports, as gotestsum left them in a results folder. */
interface ReportPair {
  /** moby's file stem, e.g. amd64-integration-container or amd64-integration-cli-TestDockerCLIInfoSuite. */
  stem: string;
  jsonFile: string;
  junitFile: string | undefined;
  mtimeMs: number;
}

export interface MergedReports {
  packages: PackageResult[];
  /** Reports of a unit that another folder also had: the newest counted, these not. */
  duplicates: string[];
  junitFile: string;
  jsonFile: string;
  /** Whether a run's kernel facts were there to classify with. */
  classifiedWithFacts: boolean;
}

function reportsIn(dir: string): ReportPair[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(`${dir} is not a results folder`, 'Name folders a test run wrote its reports to, e.g. bundles/test-integration-shard-1-of-2.');
  }
  const pairs = readdirSync(dir)
    .filter((name) => name.endsWith(JSON_SUFFIX))
    .map((name) => {
      const stem = name.slice(0, -JSON_SUFFIX.length);
      const junit = join(dir, `${stem}${JUNIT_SUFFIX}`);
      return { stem, jsonFile: join(dir, name), junitFile: existsSync(junit) ? junit : undefined, mtimeMs: statSync(join(dir, name)).mtimeMs };
    });
  if (pairs.length === 0) throw new UserError(`${dir} holds no *${JSON_SUFFIX}`, 'Name the folder of a run that ran tests.');
  return pairs;
}

/** ./integration/container from amd64.integration.container; an integration-cli suite's report adds its suite. */
function unitLabel(stem: string, pkg: string | undefined): string {
  const dir = pkg ? `./${pkg.replace(/^[^.]+\./, '').replaceAll('.', '/')}` : stem;
  const suite = /-(Test\w+Suite)(?:-round-\d+)?$/.exec(stem)?.[1];
  return suite ? `${dir} ${suite}` : dir;
}

/**
 * The reports of several shards (or machines, or modes' halves) as one run:
 * each package or suite counted once — the newest report where two folders
 * have the same one — its failures classified as a run's are, one JUnit file
 * with every testsuite, and the go test -json lines of the counted reports.
 */
export async function mergeReports(dirs: readonly string[], outputDir: string): Promise<MergedReports> {
  // The kernel's facts as the runs probed them (each run keeps them beside its reports).
  const factsFile = dirs.map((dir) => join(dir, HOST_FACTS_FILE)).find((file) => existsSync(file));
  const facts = factsFile ? (JSON.parse(readFileSync(factsFile, 'utf8')) as HostFacts) : undefined;
  const newest = new Map<string, ReportPair>();
  const duplicates: string[] = [];
  for (const pair of dirs.flatMap(reportsIn)) {
    const seen = newest.get(pair.stem);
    if (seen) duplicates.push(seen.mtimeMs <= pair.mtimeMs ? seen.jsonFile : pair.jsonFile);
    if (!seen || seen.mtimeMs <= pair.mtimeMs) newest.set(pair.stem, pair);
  }
  const pairs = [...newest.values()].sort((a, b) => a.stem.localeCompare(b.stem));
  const packages: PackageResult[] = [];
  const jsonLines: string[] = [];
  for (const pair of pairs) {
    const lines = readFileSync(pair.jsonFile, 'utf8').split('\n').filter(Boolean);
    jsonLines.push(...lines);
    const events = lines.map(parseGoTestLine).filter((event) => event !== undefined);
    const label = unitLabel(pair.stem, events.find((event) => event.Package)?.Package);
    const tally = new PackageTally(label, facts);
    for (const event of events) tally.add(event);
    const failed = events.some((event) => event.Action === 'fail');
    const failures = tally.finish(failed ? 1 : 0);
    const seconds = events.reduce((most, event) => (event.Test === undefined && event.Elapsed !== undefined ? Math.max(most, event.Elapsed) : most), 0);
    packages.push({
      dir: label,
      counts: { ...tally.counts },
      seconds,
      exitCode: failed ? 1 : 0,
      failures,
      jsonFile: pair.jsonFile,
      junitFile: pair.junitFile ?? '',
    });
  }
  await mkdir(outputDir, { recursive: true });
  const junitFile = join(outputDir, `merged${JUNIT_SUFFIX}`);
  const jsonFile = join(outputDir, `merged${JSON_SUFFIX}`);
  await writeFile(junitFile, mergeJunit(pairs.flatMap((pair) => (pair.junitFile ? [readFileSync(pair.junitFile, 'utf8')] : []))));
  await writeFile(jsonFile, jsonLines.length > 0 ? `${jsonLines.join('\n')}\n` : '');
  return { packages, duplicates: duplicates.map((file) => basename(file)), junitFile, jsonFile, classifiedWithFacts: facts !== undefined };
}

const SUITE = /<testsuite\b[^>]*?(?:\/>|>[\s\S]*?<\/testsuite>)/g;
const TOTALS = ['tests', 'failures', 'errors', 'skipped'] as const;

/** Every <testsuite> of the files under one <testsuites> whose totals are theirs added up. */
export function mergeJunit(documents: readonly string[]): string {
  const suites = documents.flatMap((text) => text.match(SUITE) ?? []);
  const attribute = (suite: string, name: string) => Number(new RegExp(`^<testsuite\\b[^>]*\\s${name}="([\\d.]+)"`).exec(suite)?.[1] ?? 0);
  const totals = TOTALS.map((name) => `${name}="${suites.reduce((sum, suite) => sum + attribute(suite, name), 0)}"`);
  const time = suites.reduce((sum, suite) => sum + attribute(suite, 'time'), 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites ${totals.join(' ')} time="${time.toFixed(6)}">`,
    ...suites.map((suite) => `\t${suite}`),
    '</testsuites>',
    '',
  ].join('\n');
}
