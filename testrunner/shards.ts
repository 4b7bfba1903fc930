import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseGoTestLine } from './results.js';

/**
 * What a shard is made of: an integration/ package, or one integration-cli
 * suite (a Test*Suite entry point of check_test.go), or integration-cli whole
 * when the run's filter cuts across suites.
 */
export interface WorkUnit {
  /** The package, as moby names it (./integration/container, ./integration-cli). */
  dir: string;
  /** The integration-cli entry point (TestDockerCLIInfoSuite), when the unit is one suite. */
  suite?: string;
  /** Tests declared for it, as gotestlist counts them: the weight when no run has timed it yet. */
  tests: number;
  /** Seconds the newest earlier report took for it, when there is one. */
  seconds?: number;
}

export function unitName(unit: Pick<WorkUnit, 'dir' | 'suite'>): string {
  return unit.suite ? `${unit.dir} ${unit.suite}` : unit.dir;
}

export interface Shard {
  /** 1-based, as `--shard I/N` names it. */
  index: number;
  count: number;
  units: WorkUnit[];
  /** Seconds expected from earlier runs (estimated for units never timed), or undefined when none was. */
  seconds: number | undefined;
  tests: number;
}

/**
 * Splits the units into `count` shards. When earlier runs timed at least half
 * of the units, the longest goes first onto the least loaded shard (units
 * never timed are estimated from the seconds per test of those that were).
 * Without, integration-cli's suites split the way moby CI's gotestlist `-d`
 * does, so a shard is the one CI runs: in name order, each shard filled up to
 * the mean number of tests, the last taking the rest. Anything with packages
 * in it goes longest first by test count, as no CI list dictates its split.
 */
export function splitIntoShards(units: readonly WorkUnit[], count: number, entryPoints = 0): Shard[] {
  const timed = units.filter((unit) => unit.seconds !== undefined);
  const groups: WorkUnit[][] = Array.from({ length: count }, () => []);
  const byTime = timed.length > 0 && timed.length * 2 >= units.length;
  if (byTime || units.some((unit) => unit.suite === undefined)) {
    const perTest = sum(timed.map((unit) => unit.seconds ?? 0)) / Math.max(1, sum(timed.map((unit) => unit.tests)));
    const estimate = (unit: WorkUnit) => (byTime ? (unit.seconds ?? unit.tests * perTest) : unit.tests);
    const loads = new Array<number>(count).fill(0);
    const longestFirst = [...units].sort((a, b) => estimate(b) - estimate(a) || unitName(a).localeCompare(unitName(b)));
    for (const unit of longestFirst) {
      const least = loads.indexOf(Math.min(...loads));
      groups[least]?.push(unit);
      loads[least] = (loads[least] ?? 0) + estimate(unit);
    }
    return groups.map((group, at) => ({ ...shardOf(group, at, count), seconds: byTime ? (loads[at] ?? 0) : undefined }));
  }
  // gotestlist's total counts the Test*Suite entry points too, so its mean is a little above the units' own.
  const mean = Math.ceil((sum(units.map((unit) => unit.tests)) + entryPoints) / count);
  let at = 0;
  for (const unit of [...units].sort((a, b) => gotestlistKey(a).localeCompare(gotestlistKey(b)))) {
    const current = groups[at] ?? [];
    const size = sum(current.map((u) => u.tests));
    if (at < count - 1 && size > 0 && size + unit.tests > mean) at += 1;
    groups[at]?.push(unit);
  }
  return groups.map((group, index) => ({ ...shardOf(group, index, count), seconds: undefined }));
}

/** gotestlist sorts by package, then by the suite's type name (DockerAPISuite for TestDockerAPISuite). */
function gotestlistKey(unit: WorkUnit): string {
  return `${unit.dir} ${unit.suite?.replace(/^Test/, '') ?? ''}`;
}

function shardOf(units: WorkUnit[], at: number, count: number): Omit<Shard, 'seconds'> {
  return { index: at + 1, count, units, tests: sum(units.map((unit) => unit.tests)) };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** The Go test functions of a package's _test.go files: top-level Test*(t *testing.T) and, per suite type, its Test* methods. */
export interface DeclaredTests {
  topLevel: string[];
  bySuite: Map<string, number>;
}

const TEST_FUNC = /^func (?:\(\w+ \*(\w+Suite)\) )?(Test(?:[^a-z]\w*)?)\(\w+ \*testing\.T\)/gm;

export function declaredTests(packageDir: string): DeclaredTests {
  const topLevel: string[] = [];
  const bySuite = new Map<string, number>();
  const files = existsSync(packageDir) ? readdirSync(packageDir).filter((name) => name.endsWith('_test.go')) : [];
  for (const file of files) {
    for (const match of readFileSync(join(packageDir, file), 'utf8').matchAll(TEST_FUNC)) {
      const [, suite, name = ''] = match;
      if (suite) bySuite.set(suite, (bySuite.get(suite) ?? 0) + 1);
      else topLevel.push(name);
    }
  }
  return { topLevel, bySuite };
}

/**
 * How long each unit took in the newest earlier report among `resultsDirs`
 * (go test -json, as gotestsum's --jsonfile keeps it): a package's own
 * pass/fail line, or an integration-cli suite's entry point.
 */
export function recordedSeconds(resultsDirs: readonly string[], packageNameOf: (dir: string) => string, units: readonly WorkUnit[]): Map<string, number> {
  const reports = resultsDirs
    .filter((dir) => existsSync(dir))
    .flatMap((dir) => readdirSync(dir).map((name) => join(dir, name)))
    .filter((file) => file.endsWith('-go-test-report.json'))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs); // newest last, so it wins
  const wanted = new Map(units.map((unit) => [`${packageNameOf(unit.dir)} ${unit.suite ?? ''}`, unitName(unit)]));
  const found = new Map<string, number>();
  for (const file of reports) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const event = parseGoTestLine(line);
      if (!event || (event.Action !== 'pass' && event.Action !== 'fail') || event.Elapsed === undefined) continue;
      const name = wanted.get(`${event.Package ?? ''} ${event.Test ?? ''}`);
      if (name) found.set(name, event.Elapsed);
    }
  }
  return found;
}
