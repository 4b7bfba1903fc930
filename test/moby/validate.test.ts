import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatFinding } from '../../validate/model.js';
import { bundlesFor, validateJson } from '../support/validate.js';
import { mobyCheckout } from '../support/moby-checkout.js';
import { tempDir } from '../support/temp.js';

/**
 * `npm run validate` on moby itself: a contributor's checkout of the pinned
 * release (made from the module cache), linted whole by golangci-lint with
 * moby's own .golangci.yml. Minutes each (the lint of all of moby), so this
 * project runs by its own command: npm run test:moby.
 */
describe("npm run validate on a contributor's moby checkout", () => {
  it('passes the untouched release, then reports each seeded mistake by the right check at the right line', async () => {
    const dir = tempDir('moby-validate');
    const { git, head } = mobyCheckout(dir, 'moby at the pinned release');
    const clean = await validateJson(bundlesFor(dir, head), dir, ['--base', head]);
    expect(clean.results.filter(({ outcome }) => outcome !== 'passed')).toEqual([]);
    expect(clean.code).toBe(0);

    const info = join(dir, 'daemon', 'info.go');
    const lines = readFileSync(info, 'utf8').split('\n');
    const misformatted = lines.findIndex((line) => line === '\treturn v, nil');
    lines[misformatted] = '\treturn  v, nil';
    writeFileSync(info, `${lines.join('\n')}\nvar unusedSetting = 1\n`);
    const unused = lines.length + 1;
    writeFileSync(join(dir, 'hack', 'release-notes.sh'), '#!/bin/sh\nif [ -n "$1" ]; then\necho  "$1"\nfi\n');
    const runTest = join(dir, 'integration-cli', 'docker_cli_run_test.go');
    const runLines = readFileSync(runTest, 'utf8').split('\n').length;
    writeFileSync(runTest, `${readFileSync(runTest, 'utf8')}\nfunc (s *DockerCLIRunSuite) TestAddedByAContributor(c *testing.T) {\n}\n`);
    git('add', '-A');
    git('commit', '-qm', 'Seed four mistakes');
    const seeded = await validateJson(bundlesFor(dir, git('rev-parse', 'HEAD')), dir, ['--base', head, 'golangci-lint', 'shfmt', 'deprecate-integration-cli']);
    const findings = seeded.results.flatMap((result) => result.findings.map(formatFinding));
    expect(findings).toEqual([
      `integration-cli/docker_cli_run_test.go:${runLines + 1}:1: new test added to integration-cli (func (s *DockerCLIRunSuite) TestAddedByAContributor(c *testing.T) {); add an API test to ./integration/COMPONENT/ instead (deprecate-integration-cli)`,
      `daemon/info.go:${misformatted + 1}:1: File is not properly formatted (gofmt)`,
      `daemon/info.go:${unused}:5: var unusedSetting is unused (unused)`,
      'hack/release-notes.sh:3:1: not formatted as shfmt -bn -ci -sr formats it (shfmt)',
    ]);
    expect(seeded.code).toBe(1);
  });
});
