import { describe, expect, it } from 'vitest';
import { parseUnifiedDiff } from '../../validate/diff.js';
import { validateJunit } from '../../validate/junit.js';
import { fileFinding, formatFinding, type CheckResult } from '../../validate/model.js';

describe('unified diffs, as git diff -U0 and shfmt -d print them', () => {
  it('numbers added lines in the new file and removed ones in the old, per file', () => {
    const text = [
      'diff --git a/integration-cli/docker_cli_run_test.go b/integration-cli/docker_cli_run_test.go',
      '--- a/integration-cli/docker_cli_run_test.go',
      '+++ b/integration-cli/docker_cli_run_test.go',
      '@@ -10,0 +11,2 @@ func (s *DockerCLIRunSuite) TestA(c *testing.T) {',
      '+func (s *DockerCLIRunSuite) TestB(c *testing.T) {',
      '+}',
      '@@ -20 +22 @@',
      '-old',
      '+new',
      'diff --git a/go.mod b/go.mod',
      '--- a/go.mod',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-module x',
    ].join('\n');
    const [test, goMod] = parseUnifiedDiff(text);
    expect(test).toEqual({
      path: 'integration-cli/docker_cli_run_test.go',
      added: [
        { line: 11, text: 'func (s *DockerCLIRunSuite) TestB(c *testing.T) {' },
        { line: 12, text: '}' },
        { line: 22, text: 'new' },
      ],
      removed: [{ line: 20, text: 'old' }],
      changeStarts: [11, 20],
    });
    expect(goMod).toMatchObject({ path: 'go.mod', removed: [{ line: 1, text: 'module x' }] });
  });

  it("points shfmt's context hunks at their first changed line", () => {
    const text = [
      '--- hack/make.sh.orig',
      '+++ hack/make.sh',
      '@@ -1,4 +1,4 @@',
      ' #!/bin/sh',
      ' if [ -n "$1" ]; then',
      '-echo  "x"',
      '+\techo "x"',
      ' fi',
    ].join('\n');
    expect(parseUnifiedDiff(text)).toEqual([
      { path: 'hack/make.sh', added: [{ line: 3, text: '\techo "x"' }], removed: [{ line: 3, text: 'echo  "x"' }], changeStarts: [3] },
    ]);
  });
});

describe('validate results', () => {
  const failed: CheckResult = {
    check: 'golangci-lint',
    outcome: 'failed',
    findings: [fileFinding('daemon/daemon.go', 12, 0, 'var x is unused & "never read" <here>', 'unused')],
    notes: [],
    seconds: 1.5,
  };

  it('formats a finding as file:line:col: message (rule), columns from 1', () => {
    expect(formatFinding(failed.findings[0]!)).toBe('daemon/daemon.go:12:1: var x is unused & "never read" <here> (unused)');
    expect(formatFinding({ at: { kind: 'commit', commit: 'c5b8ce9274b5c00cb1f8287c8e258edc1f01176d' }, message: 'no sign-off', rule: 'dco' })).toBe(
      'commit c5b8ce9274b5: no sign-off (dco)',
    );
  });

  it('writes a JUnit testcase per check, findings escaped in the failure', () => {
    const passed: CheckResult = { check: 'shfmt', outcome: 'passed', findings: [], notes: [], seconds: 0.25 };
    const junit = validateJunit([failed, passed]);
    expect(junit).toContain('<testsuite name="validate" tests="2" failures="1" errors="0" skipped="0" time="1.750">');
    expect(junit).toContain(
      '<failure message="1 finding(s)">daemon/daemon.go:12:1: var x is unused &amp; &quot;never read&quot; &lt;here&gt; (unused)</failure>',
    );
    expect(junit).toContain('<testcase classname="validate" name="shfmt" time="0.250"></testcase>');
  });
});
