import { chmod, copyFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { UserError, unreachable } from '../../core/errors.js';
import { describeTermination, run, type RunResult } from '../../core/process.js';
import type { Env } from '../../core/env.js';

/**
 * A build is a list of steps described as data before anything runs: the
 * cache key is a digest of these steps, so whatever changes a command line
 * changes the key. Paths use placeholders so the key does not depend on where
 * the staging area happens to be.
 */
export const SRC = '@SRC@';
export const OUT = '@OUT@';
export const WORK = '@WORK@';

export type Step =
  | { kind: 'exec'; argv: string[]; cwd: string; env: Record<string, string> }
  | { kind: 'copy'; from: string; to: string; mode: number }
  | { kind: 'copy-tree'; from: string; to: string }
  /** A literal replacement that fails when the text is missing, so an edit made for one release cannot silently do nothing on another. */
  | { kind: 'edit'; file: string; find: string; replace: string };

export interface StepPaths {
  /** Placeholder → real path; extra sources appear as @SRC:name@. */
  [placeholder: string]: string;
}

export function extraSourcePlaceholder(name: string): string {
  return `@SRC:${name}@`;
}

function expand(text: string, paths: StepPaths): string {
  return text.replace(/@(SRC|OUT|WORK|SRC:[\w-]+)@/g, (token) => paths[token] ?? token);
}

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
  switch (step.kind) {
    case 'exec': {
      const argv = step.argv.map((arg) => expand(arg, paths));
      const cwd = expand(step.cwd, paths);
      const env: Record<string, string | undefined> = { ...baseEnv };
      for (const [key, value] of Object.entries(step.env)) env[key] = expand(value, paths);
      log.write(
        `$ (cd ${cwd} && ${Object.entries(step.env)
          .map(([k, v]) => `${k}=${v} `)
          .join('')}${argv.join(' ')})\n`,
      );
      const result = await run(argv, { cwd, env, log, signal });
      if (result.exitCode !== 0) throw new StepFailedError(argv.slice(0, 2).join(' '), result);
      return;
    }
    case 'copy': {
      const from = expand(step.from, paths);
      const to = expand(step.to, paths);
      log.write(`$ install -m ${step.mode.toString(8)} ${from} ${to}\n`);
      await mkdir(dirname(to), { recursive: true });
      await copyFile(from, to).catch((error: NodeJS.ErrnoException) => {
        throw new UserError(`cannot copy ${from}: ${error.code === 'ENOENT' ? 'no such file in the source tree' : error.message}`);
      });
      await chmod(to, step.mode);
      return;
    }
    case 'edit': {
      const file = expand(step.file, paths);
      log.write(`$ edit ${file}: ${JSON.stringify(step.find)} -> ${JSON.stringify(step.replace)}\n`);
      const text = await readFile(file, 'utf8');
      if (!text.includes(step.find)) throw new UserError(`${file} does not contain ${JSON.stringify(step.find)}; the edit was made for another release`);
      await writeFile(file, text.split(step.find).join(step.replace));
      return;
    }
    case 'copy-tree': {
      const from = expand(step.from, paths);
      const to = expand(step.to, paths);
      log.write(`$ cp -r ${from} ${to}\n`);
      await cp(from, to, { recursive: true });
      // Module-cache trees are read-only; builds that write in-tree need a writable copy.
      await run(['chmod', '-R', 'u+w', to], { signal });
      return;
    }
    default:
      unreachable(step);
  }
}

/** The steps as the manifest records them: what a person would type to do the same. */
export function describeSteps(steps: readonly Step[]): string[] {
  return steps.map((step) => {
    switch (step.kind) {
      case 'exec': {
        const env = Object.entries(step.env).map(([k, v]) => `${k}=${v}`);
        return [...env, ...step.argv.map((a) => (/[\s"]/.test(a) ? `'${a}'` : a))].join(' ');
      }
      case 'edit':
        return `edit ${step.file}: ${JSON.stringify(step.find)} -> ${JSON.stringify(step.replace)}`;
      case 'copy':
        return `install -m ${step.mode.toString(8)} ${step.from} ${step.to}`;
      case 'copy-tree':
        return `cp -r ${step.from} ${step.to}`;
      default:
        return unreachable(step);
    }
  });
}
