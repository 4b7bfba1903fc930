import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CI_SKIP_EVIDENCE } from './classify.js';

/**
 * Lines from a package's own test source about a failed test, read only to
 * classify the failure. moby marks some tests it knows to be racy with
 * `skip.If(t, GitHubActions, "FIXME: …")`: its CI (GitHub Actions) never runs
 * them, a contributor's machine does. Only a skip at the top of the test's
 * body counts — one nested under another condition (`if DaemonIsWindows()`)
 * does not hold here.
 */
export function ciSkipEvidence(packageDir: string): (test: string) => string[] {
  let skips: Map<string, string> | undefined;
  return (test) => {
    skips ??= ciSkipsIn(packageDir);
    // integration-cli names a test <Suite>/<Test>, integration/ <Test>/<subtest>: any segment may be the function.
    for (const name of test.split('/').reverse()) {
      const reason = skips.get(name);
      if (reason !== undefined) return [`${CI_SKIP_EVIDENCE} (skip.If GitHubActions${reason ? `: ${reason}` : ''})`];
    }
    return [];
  };
}

const TEST_FUNCTION = /^func (?:\(\w+ \*?\w+\) )?(Test\w+)\(/;
const TOP_LEVEL_CI_SKIP = /^\tskip\.If\(\w+, (?:testEnv\.)?GitHubActions(?:\(\))?\s*(?:,\s*"([^"]*)")?\)/;

function ciSkipsIn(dir: string): Map<string, string> {
  const skips = new Map<string, string>();
  let files: string[];
  try {
    files = readdirSync(dir).filter((name) => name.endsWith('_test.go'));
  } catch {
    return skips;
  }
  for (const file of files) {
    let current: string | undefined;
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line.startsWith('func ')) current = TEST_FUNCTION.exec(line)?.[1];
      const skip = current === undefined ? null : TOP_LEVEL_CI_SKIP.exec(line);
      if (current !== undefined && skip) skips.set(current, skip[1] ?? '');
    }
  }
  return skips;
}
