/**
 * The checks of moby's hack/validate, each reimplemented from the upstream
 * script's intent. Their order is hack/validate/all's: `default` (dco left
 * out there, as upstream leaves it to CI's pull-request job), then `vendor`;
 * the pull-request checks follow and run when named.
 */
export const CHECKS = ['pkg-imports', 'deprecate-integration-cli', 'golangci-lint', 'shfmt', 'vendor', 'module-replace', 'dco', 'pr-gh-references'] as const;
export type CheckName = (typeof CHECKS)[number];

/** What `make validate` (hack/validate/all) runs, and so what `npm run validate` runs when no check is named. */
export const MAKE_VALIDATE: readonly CheckName[] = ['pkg-imports', 'deprecate-integration-cli', 'golangci-lint', 'shfmt', 'vendor'];

export const CHECK_DESCRIPTIONS: Record<CheckName, string> = {
  'pkg-imports': 'Go files under pkg/ changed since the base import no moby code outside pkg/ and internal/',
  'deprecate-integration-cli': 'no new Test functions in integration-cli (new tests go to integration/)',
  'golangci-lint': "golangci-lint with the tree's .golangci.yml, once per go.mod except man/",
  shfmt: "shell scripts (files with a '#!' line) formatted as shfmt -bn -ci -sr prints them",
  vendor: 'go mod tidy and go mod vendor change nothing, and every vendored module has a licence file',
  'module-replace': 'changes to ./api or ./client come with a replace rule in go.mod',
  dco: "every commit since the base carries a Developer Certificate of Origin 'Signed-off-by:' line",
  'pr-gh-references': 'no commit message since the base refers to a GitHub issue or pull request',
};

/** The checks that compare the tree with a base commit, so they need one. */
export const NEEDS_BASE: ReadonlySet<CheckName> = new Set(['pkg-imports', 'deprecate-integration-cli', 'module-replace', 'dco', 'pr-gh-references']);

export type FindingLocation = { kind: 'file'; file: string; line: number; column: number } | { kind: 'commit'; commit: string };

/** One thing a check found, where it is (relative to the tree), and which rule or linter said so. */
export interface Finding {
  at: FindingLocation;
  message: string;
  rule: string;
}

export interface CheckResult {
  check: CheckName;
  outcome: 'passed' | 'failed';
  findings: Finding[];
  /** What a reader should know about how the check ran (nothing to compare with, warnings the upstream script only prints). */
  notes: string[];
  /** Set when the check could not run to the end (a tool failed); then it failed without findings of its own. */
  error?: string;
  seconds: number;
}

export function fileFinding(file: string, line: number, column: number, message: string, rule: string): Finding {
  return { at: { kind: 'file', file, line: Math.max(1, line), column: Math.max(1, column) }, message, rule };
}

/** `file:line:col: message (rule)`, the form editors and CI annotations read. */
export function formatFinding(finding: Finding): string {
  const where = finding.at.kind === 'file' ? `${finding.at.file}:${finding.at.line}:${finding.at.column}` : `commit ${finding.at.commit.slice(0, 12)}`;
  return `${where}: ${finding.message} (${finding.rule})`;
}
