import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { UserError, unreachable } from '../../core/errors.js';
import { describeTermination, run, type RunResult } from '../../core/process.js';
import type { Env } from '../../core/env.js';
import { WORK, replacePlaceholders } from '../../core/placeholders.js';
import { quoteShellWord, shellCommand } from '../../core/shell-quote.js';

export { OUT, SRC, WORK, extraSourcePlaceholder } from '../../core/placeholders.js';

/** The writable copy of the source tree, for builds that write in-tree: sources are read-only caches. */
export const WRITABLE_SRC = `${WORK}/src`;

/**
 * A build is a list of steps described as data before anything runs: the
 * cache key is a digest of these steps, so whatever changes a command line
 * changes the key. Paths use placeholders so the key does not depend on where
 * the staging area happens to be.
 */
export type Step =
  | { kind: 'exec'; argv: string[]; cwd: string; env: Record<string, string> }
  | { kind: 'copy'; from: string; to: string; mode: number }
  | { kind: 'copy-tree'; from: string; to: string }
  /** A literal replacement that fails when the text is missing, so an edit made for one release cannot silently do nothing on another. */
  | { kind: 'edit'; file: string; find: string; replace: string };

/** Placeholder → real path; extra sources appear as @SRC:name@. */
export type StepPaths = Record<string, string>;

/** A command step that did not succeed; the signal, when one ended it, helps name the cause. */
export class StepFailedError extends UserError {
  constructor(
    readonly command: string,
    readonly termination: Pick<RunResult, 'exitCode' | 'signal'>,
  ) {
    super(`\`${command}\` ${describeTermination(termination)}`);
    this.name = 'StepFailedError';
  }
}

export async function runSteps(steps: readonly Step[], paths: StepPaths, baseEnv: Env, log: Writable, signal: AbortSignal): Promise<void> {
  for (const step of steps) {
    signal.throwIfAborted();
    await runStep(step, paths, baseEnv, log, signal);
  }
}

async function runStep(step: Step, paths: StepPaths, baseEnv: Env, log: Writable, signal: AbortSignal): Promise<void> {
  // The log shows each step as the manifest records it, with the real paths.
  log.write(`$ ${replacePlaceholders(describeStep(step), paths)}\n`);
  switch (step.kind) {
    case 'exec': {
      const argv = step.argv.map((arg) => replacePlaceholders(arg, paths));
      const cwd = replacePlaceholders(step.cwd, paths);
      const env: Record<string, string | undefined> = { ...baseEnv };
      for (const [key, value] of Object.entries(step.env)) env[key] = replacePlaceholders(value, paths);
      const result = await run(argv, { cwd, env, log, signal });
      if (result.exitCode !== 0) throw new StepFailedError(argv.slice(0, 2).join(' '), result);
      return;
    }
    case 'copy': {
      const from = replacePlaceholders(step.from, paths);
      const to = replacePlaceholders(step.to, paths);
      await mkdir(dirname(to), { recursive: true });
      await copyFile(from, to).catch((error: NodeJS.ErrnoException) => {
        throw new UserError(`cannot copy ${from}: ${error.code === 'ENOENT' ? 'no such file in the source tree' : error.message}`);
      });
      await chmod(to, step.mode);
      return;
    }
    case 'edit': {
      const file = replacePlaceholders(step.file, paths);
      const text = await readFile(file, 'utf8');
      if (!text.includes(step.find)) throw new UserError(`${file} does not contain ${JSON.stringify(step.find)}; the edit was made for another release`);
      await writeFile(file, text.split(step.find).join(step.replace));
      return;
    }
    case 'copy-tree': {
      const from = replacePlaceholders(step.from, paths);
      const to = replacePlaceholders(step.to, paths);
      // cp itself, not fs.cp (which rewrites relative symlinks): the manifest records `cp -r`, and this is what ran.
      const copied = await run(['cp', '-r', from, to], { signal, log });
      if (copied.exitCode !== 0) throw new StepFailedError(`cp -r ${from}`, copied);
      // Module-cache trees are read-only; builds that write in-tree need a writable copy.
      const writable = await run(['chmod', '-R', 'u+w', to], { signal, log });
      if (writable.exitCode !== 0) throw new StepFailedError(`chmod -R u+w ${to}`, writable);
      return;
    }
    default:
      unreachable(step);
  }
}

/**
 * The steps as the manifest records them: one POSIX shell command per step
 * that `sh -c` runs to the same effect, with the placeholders left in (they
 * expand to absolute paths made only of characters that need no quoting).
 * `npm run verify-bundle` replays exactly these strings; docs/verify-bundle.md "Recorded
 * commands" documents the forms.
 */
export function describeSteps(steps: readonly Step[]): string[] {
  return steps.map(describeStep);
}

function describeStep(step: Step): string {
  switch (step.kind) {
    case 'exec':
      return `cd ${quoteShellWord(step.cwd)} && ${shellCommand(step.argv, step.env)}`;
    case 'copy':
      return shellCommand(['install', '-D', '-m', step.mode.toString(8), step.from, step.to]);
    case 'copy-tree':
      return `${shellCommand(['cp', '-r', step.from, step.to])} && ${shellCommand(['chmod', '-R', 'u+w', step.to])}`;
    case 'edit':
      return describeEdit(step);
    default:
      return unreachable(step);
  }
}

/**
 * A literal replace-all in plain sh (no sed, whose patterns are not literal):
 * the file is read whole (a trailing `.` keeps its final newlines from command
 * substitution), the quoted "$old" in each pattern matches literally, and a
 * missing text fails the command as it fails the build.
 */
function describeEdit(step: Extract<Step, { kind: 'edit' }>): string {
  if (step.find === '') throw new Error(`edit of ${step.file}: the text to find is empty`);
  return [
    `f=${quoteShellWord(step.file)} old=${quoteShellWord(step.find)} new=${quoteShellWord(step.replace)}`,
    't=$(cat -- "$f" && echo .)',
    't=${t%.}',
    'case $t in *"$old"*) ;; *) echo "$f does not contain the text to replace" >&2 && false ;; esac',
    'r=',
    'while case $t in *"$old"*) ;; *) false ;; esac; do r=$r${t%%"$old"*}$new && t=${t#*"$old"}; done',
    'printf %s "$r$t" > "$f"',
  ].join(' && ');
}
