import { NO_HISTORY, type Check } from './context.js';
import { changesSinceBase, commitsSinceBase, type FileChange } from './diff.js';
import type { Finding } from './model.js';

const GITHUB_USERNAME = '[a-zA-Z0-9][a-zA-Z0-9-]+';
/** hack/validate/dco's dcoRegex, matched against each line of the message. */
const SIGNED_OFF = new RegExp(`^(Docker-DCO-1.1-)?Signed-off-by: ([^<]+) <([^<>@]+@[^<>]+)>( \\(github: (${GITHUB_USERNAME})\\))?$`);

const uncommittedNote = (changes: FileChange[]) =>
  changes.length > 0 ? [`${changes.length} changed file(s) are not committed yet: only commits have messages to check`] : [];

/** hack/validate/dco: every commit with content since the base is signed off (CONTRIBUTING.md, "Sign your work"). */
export const dco: Check = async ({ tree, base, env }) => {
  if (!base) return { findings: [], notes: [NO_HISTORY] };
  const commits = await commitsSinceBase(tree, base, env);
  const findings: Finding[] = commits
    .filter(({ message }) => !message.split('\n').some((line) => SIGNED_OFF.test(line)))
    .map(({ commit, message }) => ({
      at: { kind: 'commit', commit },
      message: `"${subject(message)}" has no "Signed-off-by: Name <email>" line (git commit --amend -s)`,
      rule: 'dco',
    }));
  return { findings, notes: [`${commits.length} commit(s) since ${base.ref}`, ...uncommittedNote(await changesSinceBase(tree, base, ['.'], env))] };
};

/** hack/validate/pr-gh-references's patterns: `#123`, `repo#123`, `owner/repo#123` and issue or pull URLs. */
const REF_PREFIX = '(^|[^A-Za-z0-9_./-])';
const REPO_NAME = '[A-Za-z0-9_.-]+';
const GITHUB_REFERENCES = [
  /(^|[^A-Za-z0-9_])#[0-9]+/,
  new RegExp(`${REF_PREFIX}${REPO_NAME}#[0-9]+`),
  new RegExp(`${REF_PREFIX}${REPO_NAME}/${REPO_NAME}#[0-9]+`),
  /https?:\/\/(www\.)?github\.com\/[^\s/]+\/[^\s/]+\/(issues|pull)\/[0-9]+/,
];

/** hack/validate/pr-gh-references: a commit message outlives GitHub's numbering, so it names commits, not issues. */
export const prGhReferences: Check = async ({ tree, base, env }) => {
  if (!base) return { findings: [], notes: [NO_HISTORY] };
  const commits = await commitsSinceBase(tree, base, env);
  const findings: Finding[] = [];
  for (const { commit, message } of commits) {
    message.split('\n').forEach((line, index) => {
      const match = GITHUB_REFERENCES.map((pattern) => pattern.exec(line)).find(Boolean);
      if (match) {
        findings.push({
          at: { kind: 'commit', commit },
          message: `line ${index + 1} of the message refers to a GitHub issue or pull request (${match[0].trim()}); reference commit hashes instead`,
          rule: 'pr-gh-references',
        });
      }
    });
  }
  return { findings, notes: [`${commits.length} commit(s) since ${base.ref}`] };
};

function subject(message: string): string {
  return message.split('\n')[0]?.trim() ?? '';
}
