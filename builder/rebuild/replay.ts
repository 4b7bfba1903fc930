import type { Writable } from 'node:stream';
import type { Env } from '../../core/env.js';
import { run, type RunResult } from '../../core/process.js';
import type { PlaceholderPaths } from '../../core/placeholders.js';
import { expandPlaceholders } from './placeholders.js';

export interface ReplayOptions {
  paths: PlaceholderPaths;
  /** Folder the shell starts in; recorded commands that need another one `cd` there themselves. */
  cwd: string;
  env: Env;
  log: Writable;
  signal: AbortSignal;
  /** Called before each command runs, with its index. */
  onCommand?: (index: number) => void;
}

export type ReplayResult = { ok: true } | { ok: false; index: number; result: Pick<RunResult, 'exitCode' | 'signal'> };

/**
 * Runs recorded commands with `sh -c`, one after another, exactly as the text
 * says: nothing here knows what a step was, so a record that is not exact
 * shows up as a failure or a different output, never as a silent repair.
 */
export async function replayCommands(commands: readonly string[], options: ReplayOptions): Promise<ReplayResult> {
  for (const [index, command] of commands.entries()) {
    options.signal.throwIfAborted();
    options.onCommand?.(index);
    const expanded = expandPlaceholders(command, options.paths);
    options.log.write(`$ ${expanded}\n`);
    const result = await run(['sh', '-c', expanded], { cwd: options.cwd, env: options.env, log: options.log, signal: options.signal });
    if (result.exitCode !== 0) return { ok: false, index, result };
  }
  return { ok: true };
}
