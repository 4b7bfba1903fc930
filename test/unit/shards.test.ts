import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { suiteSplit } from '../../testrunner/integration.js';
import { parseIntegrationOptions } from '../../testrunner/options.js';
import { mergeJunit, mergeReports } from '../../testrunner/report-merge.js';
import { declaredTests, recordedSeconds, splitIntoShards, type WorkUnit } from '../../testrunner/shards.js';

const unit = (dir: string, tests: number, seconds?: number): WorkUnit => ({ dir, tests, ...(seconds !== undefined ? { seconds } : {}) });

describe('shards', () => {
  it('without timings splits as gotestlist -d does: name order, each shard filled to the mean, the last taking the rest', () => {
    const suite = (name: string, tests: number): WorkUnit => ({ dir: './integration-cli', suite: `Test${name}Suite`, tests });
    const shards = splitIntoShards([suite('B', 3), suite('A', 5), suite('D', 2), suite('C', 4)], 2);
    expect(shards.map((shard) => shard.units.map((u) => u.suite))).toEqual([['TestASuite'], ['TestBSuite', 'TestCSuite', 'TestDSuite']]);
    expect(shards.map((shard) => [shard.index, shard.count, shard.tests, shard.seconds])).toEqual([
      [1, 2, 5, undefined],
      [2, 2, 9, undefined],
    ]);
    // Packages, untimed, go longest first by test count.
    expect(splitIntoShards([unit('./b', 3), unit('./a', 5), unit('./d', 2), unit('./c', 4)], 2).map((shard) => shard.units.map((u) => u.dir))).toEqual([
      ['./a', './d'],
      ['./c', './b'],
    ]);
    // More shards than units: the rest are empty, still numbered, so a CI matrix of N jobs stays N.
    expect(splitIntoShards([unit('./a', 1)], 3).map((shard) => shard.units.length)).toEqual([1, 0, 0]);
  });

  it('with timings puts the longest first onto the least loaded shard, and estimates untimed units per test', () => {
    const shards = splitIntoShards([unit('./a', 10, 300), unit('./b', 10, 100), unit('./c', 10, 100), unit('./d', 10, 90), unit('./e', 2)], 2);
    // One timed unit of three is too little to go by: counts decide.
    expect(splitIntoShards([unit('./a', 1, 500), unit('./b', 4), unit('./c', 4)], 2).map((shard) => shard.seconds)).toEqual([undefined, undefined]);
    expect(shards.map((shard) => shard.units.map((u) => u.dir))).toEqual([['./a'], ['./b', './c', './d', './e']]);
    expect(shards.map((shard) => Math.round(shard.seconds ?? 0))).toEqual([300, 320]);
  });

  it('counts Test* functions and suite methods as gotestlist does, and reads timings from go test -json reports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmk-shards-'));
    writeFileSync(
      join(dir, 'a_test.go'),
      'func TestOne(t *testing.T) {}\nfunc Testlower(t *testing.T) {}\nfunc (s *DockerCLIInfoSuite) TestInfo(c *testing.T) {}\nfunc (s *DockerCLIInfoSuite) TestMore(c *testing.T) {}\nfunc TestDockerCLIInfoSuite(t *testing.T) {}\n',
    );
    expect(declaredTests(dir)).toEqual({ topLevel: ['TestOne', 'TestDockerCLIInfoSuite'], bySuite: new Map([['DockerCLIInfoSuite', 2]]) });
    const lines = [
      { Action: 'pass', Package: 'amd64.integration.system', Elapsed: 21.5 },
      { Action: 'pass', Package: 'amd64.integration-cli', Test: 'TestDockerCLIInfoSuite', Elapsed: 3.25 },
    ];
    writeFileSync(join(dir, 'x-go-test-report.json'), lines.map((line) => JSON.stringify(line)).join('\n'));
    const seconds = recordedSeconds([dir], (d) => `amd64.${d.slice(2).replaceAll('/', '.')}`, [
      unit('./integration/system', 1),
      { dir: './integration-cli', suite: 'TestDockerCLIInfoSuite', tests: 2 },
    ]);
    expect([...seconds]).toEqual([
      ['./integration/system', 21.5],
      ['./integration-cli TestDockerCLIInfoSuite', 3.25],
    ]);
  });

  it("takes moby CI's matrix entries (suite type names) as integration-cli suites", () => {
    const source = mkdtempSync(join(tmpdir(), 'mmk-cli-'));
    mkdirSync(join(source, 'integration-cli'));
    writeFileSync(join(source, 'integration-cli', 'check_test.go'), 'func TestDockerAPISuite(t *testing.T) {}\nfunc TestDockerCLIInfoSuite(t *testing.T) {}\n');
    const options = parseIntegrationOptions([], { TESTFLAGS: '-test.run (DockerAPISuite|DockerCLIInfoSuite)/ -test.short' });
    expect(suiteSplit(options, source)).toEqual({ suites: ['TestDockerAPISuite', 'TestDockerCLIInfoSuite'], otherFlags: ['-test.short'] });
  });
});

describe('the report merge', () => {
  it('adds up JUnit testsuites under one testsuites element', () => {
    const doc = (name: string, tests: number, failures: number) =>
      `<?xml version="1.0"?>\n<testsuites>\n<testsuite tests="${tests}" failures="${failures}" time="1.500000" name="${name}"><testcase name="x"></testcase></testsuite>\n</testsuites>`;
    const merged = mergeJunit([doc('a', 3, 1), doc('b', 2, 0)]);
    expect(merged).toMatch(/<testsuites tests="5" failures="1" errors="0" skipped="0" time="3.000000">/);
    expect(merged.match(/<testsuite /g)).toHaveLength(2);
  });

  it('counts a package once when two folders have it (the newer report), and names the other', async () => {
    const report = (pkg: string, outcome: string) =>
      [
        { Action: 'run', Package: pkg, Test: 'TestA' },
        { Action: outcome, Package: pkg, Test: 'TestA', Elapsed: 1 },
        { Action: outcome, Package: pkg, Elapsed: 2 },
      ]
        .map((line) => JSON.stringify(line))
        .join('\n');
    const [older, newer, other] = ['older', 'newer', 'other'].map((name) => mkdtempSync(join(tmpdir(), `mmk-${name}-`)));
    writeFileSync(join(older ?? '', 'amd64-integration-a-go-test-report.json'), report('amd64.integration.a', 'fail'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    writeFileSync(join(newer ?? '', 'amd64-integration-a-go-test-report.json'), report('amd64.integration.a', 'pass'));
    writeFileSync(join(other ?? '', 'amd64-integration-b-go-test-report.json'), report('amd64.integration.b', 'pass'));
    const into = mkdtempSync(join(tmpdir(), 'mmk-into-'));
    const merged = await mergeReports([older ?? '', newer ?? '', other ?? ''], into);
    expect(merged.packages.map((p) => [p.dir, p.counts, p.exitCode])).toEqual([
      ['./integration/a', { passed: 1, failed: 0, skipped: 0 }, 0],
      ['./integration/b', { passed: 1, failed: 0, skipped: 0 }, 0],
    ]);
    expect(merged.duplicates).toEqual(['amd64-integration-a-go-test-report.json']);
    expect(readFileSync(merged.jsonFile, 'utf8').split('\n').filter(Boolean)).toHaveLength(6);
    await expect(mergeReports([into + '-missing'], into)).rejects.toThrow(/is not a results folder/);
  });
});
