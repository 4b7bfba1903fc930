import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import { lastLine, run } from '../core/process.js';
import { git, type Base, type ValidateTree } from './tree.js';

export interface ChangedLine {
  /** The line's number on its side: the new file for additions, the old one for removals. */
  line: number;
  text: string;
}

export interface FileChange {
  /** The new path (the old one for a deleted file). */
  path: string;
  added: ChangedLine[];
  removed: ChangedLine[];
  /** Where each hunk's first change is, in the old file (the file as the tree has it), for pointing at a change as a whole. */
  changeStarts: number[];
}

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

/** Parses unified diff text (git diff, diff -u, shfmt -d) into the changed lines of each file. */
export function parseUnifiedDiff(text: string): FileChange[] {
  const files: FileChange[] = [];
  let current: FileChange | undefined;
  let oldLine = 0;
  let newLine = 0;
  let oldPath = '';
  let hunkOpen = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('--- ')) {
      oldPath = stripPrefix(line.slice(4));
      continue;
    }
    if (line.startsWith('+++ ')) {
      const newPath = stripPrefix(line.slice(4));
      current = { path: newPath === '/dev/null' ? oldPath : newPath, added: [], removed: [], changeStarts: [] };
      files.push(current);
      continue;
    }
    const hunk = HUNK.exec(line);
    if (hunk && current) {
      oldLine = Number(hunk[1]);
      newLine = Number(hunk[2]);
      // -U0 names the line before an insertion; the change starts after it.
      if (hunk[0].includes(',0 +')) oldLine++;
      hunkOpen = true;
      continue;
    }
    if (!current) continue;
    const changed = line.startsWith('+') || line.startsWith('-');
    if (changed && hunkOpen) {
      current.changeStarts.push(Math.max(1, oldLine));
      hunkOpen = false;
    }
    if (line.startsWith('+')) current.added.push({ line: newLine++, text: line.slice(1) });
    else if (line.startsWith('-')) current.removed.push({ line: oldLine++, text: line.slice(1) });
    else if (line.startsWith(' ')) {
      oldLine++;
      newLine++;
    }
  }
  return files;
}

/** `a/x`, `b/x` (git) or `x\t<date>` (diff -u) to `x`. */
function stripPrefix(path: string): string {
  const name = path.split('\t')[0] ?? path;
  return /^[ab]\//.test(name) ? name.slice(2) : name;
}

/**
 * What changed since the base in files matching the git pathspecs: the
 * three-dot diff hack/validate/.validate takes (`base...HEAD`, filter ACMR),
 * extended to what the contributor has not committed yet (the work tree, and
 * untracked files as wholly added), since they validate before they commit.
 */
export async function changesSinceBase(tree: ValidateTree, base: Base, pathspecs: readonly string[], env: Env): Promise<FileChange[]> {
  const diff = await git(tree, ['diff', '--no-color', '--no-ext-diff', '--no-renames', '--diff-filter=ACMR', '-U0', base.mergeBase, '--', ...pathspecs], env);
  if (diff.exitCode !== 0) throw new UserError(`git diff ${base.mergeBase.slice(0, 12)} failed in ${tree.dir}: ${lastLine(diff.stderr)}`);
  const changes = parseUnifiedDiff(diff.stdout);
  const untracked = await git(tree, ['ls-files', '-z', '--others', '--exclude-standard', '--', ...pathspecs], env);
  for (const path of untracked.stdout.split('\0').filter(Boolean)) {
    const text = await readFile(join(tree.dir, path), 'utf8');
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    changes.push({ path, added: lines.map((line, index) => ({ line: index + 1, text: line })), removed: [], changeStarts: [1] });
  }
  return changes;
}

/** The commits since the base (`base..HEAD`) that change files; merges carry no content of their own and are left out, as upstream does. */
export async function commitsSinceBase(tree: ValidateTree, base: Base, env: Env): Promise<{ commit: string; message: string }[]> {
  const log = await git(tree, ['log', '--no-merges', '--format=%H', `${base.commit}..HEAD`], env);
  if (log.exitCode !== 0) throw new UserError(`git log ${base.commit.slice(0, 12)}..HEAD failed in ${tree.dir}: ${lastLine(log.stderr)}`);
  const commits = [];
  for (const commit of log.stdout.split('\n').filter(Boolean)) {
    const files = await git(tree, ['show', '--format=', '--name-only', commit], env);
    if (!files.stdout.trim()) continue;
    const message = await git(tree, ['log', '-1', '--format=%B', commit], env);
    commits.push({ commit, message: message.stdout });
  }
  return commits;
}

/** `diff -U0 old new` of two files, parsed; empty when they are the same. */
export async function diffFiles(oldFile: string, newFile: string, env: Env): Promise<FileChange | undefined> {
  const result = await run(['diff', '-U0', oldFile, newFile], { env });
  if (result.exitCode === 0) return undefined;
  if (result.exitCode !== 1) throw new UserError(`diff ${oldFile} ${newFile} failed: ${lastLine(result.stderr)}`);
  return parseUnifiedDiff(result.stdout)[0];
}
