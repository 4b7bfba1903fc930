import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../tasks/paths.js';
import { CHECKS, formatFinding, type CheckName, type CheckResult } from '../../validate/model.js';
import { bundlesFor, validateJson } from '../support/validate.js';
import { FixtureRepo } from '../support/git-repos.js';
import { tempDir } from '../support/temp.js';

/**
 * `npm run validate` end to end on a small moby-shaped module
 * (test/fixtures/validate-tree: the api, client and man modules, a vendored
 * client, integration-cli, pkg/, a script), checked out as a contributor's
 * DAEMON_SRC: real git, go, golangci-lint and shfmt at moby's pins.
 */
const SIGNED = 'Signed-off-by: A Contributor <contributor@example.com>';

function checkout(): FixtureRepo {
  const repo = new FixtureRepo(tempDir('validate-tree'));
  cpSync(join(projectRoot, 'test', 'fixtures', 'validate-tree'), repo.dir, { recursive: true });
  repo.commit({}, 'fixture: the base a change starts from');
  return repo;
}

async function validate(repo: FixtureRepo, args: string[], env: Record<string, string> = {}) {
  return validateJson(bundlesFor(repo.dir, repo.git('rev-parse', 'HEAD')), repo.dir, args, env);
}

function findingsOf(results: CheckResult[], check: CheckName): string[] {
  const result = results.find((candidate) => candidate.check === check);
  if (!result) throw new Error(`no result for ${check}`);
  if (result.error) throw new Error(`${check} could not run: ${result.error}`);
  return result.findings.map(formatFinding);
}

/** Appends a blank line and `text` to a fixture file; returns the line number `text` starts at, so each seeded finding sits where the test knows. */
function append(repo: FixtureRepo, file: string, text: string): number {
  const path = join(repo.dir, file);
  const before = readFileSync(path, 'utf8');
  writeFileSync(path, `${before}\n${text}`);
  return before.split('\n').length + 1;
}

describe('npm run validate', () => {
  let seeded: Awaited<ReturnType<typeof validate>>;
  const lines = { gofmt: 0, unused: 0, newTest: 0 };

  beforeAll(async () => {
    const repo = checkout();
    const base = repo.git('rev-parse', 'HEAD');
    lines.gofmt =
      append(repo, 'daemon/daemon.go', '// Misformatted has two spaces where gofmt puts one.\nfunc Misformatted() string {\n\treturn  "x"\n}\n') + 2;
    lines.unused = append(repo, 'daemon/daemon.go', 'var unusedSetting = 1\n');
    lines.newTest = append(
      repo,
      'integration-cli/docker_cli_fixture_test.go',
      'func (s *DockerCLIFixtureSuite) TestAddedLater(t *testing.T) {\n\tt.Log(s)\n}\n',
    );
    writeFileSync(join(repo.dir, 'hack', 'release.sh'), '#!/bin/sh\nif [ -n "$1" ]; then\necho  "releasing $1"\nfi\n');
    writeFileSync(
      join(repo.dir, 'pkg', 'stringid', 'daemon.go'),
      'package stringid\n\nimport "github.com/moby/moby/v2/daemon"\n\n// DaemonVersion leaks the daemon into pkg/.\nfunc DaemonVersion() string { return daemon.Version() }\n',
    );
    append(repo, 'api/types/types.go', '// Info is what GET /info answers.\ntype Info struct{ ID string }\n');
    // The vendored copy goes stale: go mod vendor would rewrite it.
    writeFileSync(join(repo.dir, 'client', 'client.go'), readFileSync(join(repo.dir, 'client', 'client.go'), 'utf8').replace('fixture-1', 'fixture-2'));
    repo.commit({}, 'Seed one finding for each check\n\nFixes #1234');
    seeded = await validate(repo, ['--base', base, ...CHECKS]);
  }, 900_000);

  it('fails, with exit 1, when a check finds something', () => {
    expect(seeded.stderr).toBe('');
    expect(seeded.code).toBe(1);
    expect(seeded.results.map(({ check, outcome }) => [check, outcome])).toEqual(CHECKS.map((check) => [check, 'failed']));
  });

  it('reports each seeded finding with the right check, file and line', () => {
    const { results } = seeded;
    expect(findingsOf(results, 'golangci-lint')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^daemon/daemon\\.go:${lines.gofmt}:\\d+: .*\\(gofmt\\)$`)),
        `daemon/daemon.go:${lines.unused}:5: var unusedSetting is unused (unused)`,
      ]),
    );
    expect(findingsOf(results, 'deprecate-integration-cli')).toEqual([
      `integration-cli/docker_cli_fixture_test.go:${lines.newTest}:1: new test added to integration-cli (func (s *DockerCLIFixtureSuite) TestAddedLater(t *testing.T) {); add an API test to ./integration/COMPONENT/ instead (deprecate-integration-cli)`,
    ]);
    expect(findingsOf(results, 'shfmt')).toEqual(['hack/release.sh:3:1: not formatted as shfmt -bn -ci -sr formats it (shfmt)']);
    // Through the daemon, the client module comes in too: upstream's rule counts every moby module outside pkg/.
    expect(findingsOf(results, 'pkg-imports')).toEqual([
      'pkg/stringid/daemon.go:1:1: imports github.com/moby/moby/client indirectly, which is outside pkg/ (pkg-imports)',
      'pkg/stringid/daemon.go:3:1: imports github.com/moby/moby/v2/daemon, which is outside pkg/ (pkg-imports)',
    ]);
    expect(findingsOf(results, 'vendor')).toEqual(['vendor/github.com/moby/moby/client/client.go:1:1: differs from what go mod vendor writes (vendor)']);
    expect(findingsOf(results, 'module-replace')).toEqual([
      'go.mod:1:1: changes in ./api need a replace rule for github.com/moby/moby/api (run ./hack/vendor.sh replace) (module-replace)',
    ]);
    expect(findingsOf(results, 'dco')).toEqual([expect.stringMatching(/^commit [0-9a-f]{12}: "Seed one finding for each check" has no "Signed-off-by/)]);
    expect(findingsOf(results, 'pr-gh-references')).toEqual([expect.stringMatching(/^commit [0-9a-f]{12}: line 3 of the message refers to .* \(#1234\)/)]);
  });

  it('writes JUnit with a failing testcase per check', () => {
    const summary = seeded.events.find((event) => event.type === 'validate-summary');
    if (summary?.type !== 'validate-summary') throw new Error('no summary');
    const junit = readFileSync(summary.junit, 'utf8');
    expect(junit).toContain(`<testsuite name="validate" tests="${CHECKS.length}" failures="${CHECKS.length}"`);
    expect(junit).toContain('pkg/stringid/daemon.go:3:1: imports github.com/moby/moby/v2/daemon');
  });

  it('passes a clean change: exit 0, every check passed', async () => {
    const repo = checkout();
    const base = repo.git('rev-parse', 'HEAD');
    append(repo, 'hack/make.sh', 'echo "done"\n');
    repo.commit({}, `Say when make is done\n\n${SIGNED}`);
    const clean = await validate(repo, CHECKS as unknown as string[], { VALIDATE_UPSTREAM: base });
    expect(clean.results.filter(({ outcome }) => outcome !== 'passed')).toEqual([]);
    expect(clean.code).toBe(0);
  });

  it('--fix applies shfmt -w and golangci-lint --fix to a DAEMON_SRC checkout, after naming the files', async () => {
    const repo = checkout();
    const script = join(repo.dir, 'hack', 'make.sh');
    writeFileSync(script, readFileSync(script, 'utf8').replace('\techo', 'echo'));
    const code = join(repo.dir, 'daemon', 'daemon.go');
    writeFileSync(code, readFileSync(code, 'utf8').replace('\treturn client.Version', '\treturn  client.Version'));
    repo.commit({}, 'Misformat a script and a Go file');
    const fixed = await validate(repo, ['--fix', 'shfmt', 'golangci-lint']);
    expect(fixed.events).toContainEqual(expect.objectContaining({ type: 'fix-planned', check: 'shfmt', files: ['hack/make.sh'] }));
    expect(fixed.events).toContainEqual(expect.objectContaining({ type: 'fix-planned', check: 'golangci-lint', files: ['daemon/daemon.go'] }));
    expect(readFileSync(script, 'utf8')).toContain('\techo "building $1"');
    expect(readFileSync(code, 'utf8')).toContain('\treturn client.Version\n');
    expect(fixed.results.map(({ check, outcome }) => [check, outcome])).toEqual([
      ['golangci-lint', 'passed'],
      ['shfmt', 'passed'],
    ]);
    expect(fixed.code).toBe(0);
  });

  it('refuses a base it cannot find, naming the variable to set, and an unknown check with exit 2', async () => {
    const repo = checkout();
    const missing = await validate(repo, ['pkg-imports']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/the pinned release v2\.0\.0-beta\.21 \([0-9a-f]{12}\) is not in its history\nSet VALIDATE_UPSTREAM \(or pass --base REF\)/);
    const unknown = await validate(repo, ['golint']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: golint is not a check/);
  });
});
