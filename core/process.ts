import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Writable } from 'node:stream';
import { InterruptedError } from './errors.js';

export interface RunOptions {
  cwd?: string;
  /** Replaces the environment entirely when given (builds must not leak the caller's GOFLAGS etc.). */
  env?: Record<string, string | undefined>;
  /** Where stdout and stderr go, interleaved as the process writes them. */
  log?: Writable;
  signal?: AbortSignal;
  /** Data written to stdin. */
  input?: string;
}

export interface RunResult {
  /** The exit status; 128 + the signal number, as a shell reports it, when a signal ended the process. */
  exitCode: number;
  /** The signal that ended the process, when one did (e.g. SIGKILL from the out-of-memory killer). */
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
}

/**
 * Runs argv directly (no shell: the watch resolves a tree with several git
 * processes per edit, and a shell in front of each costs as much as git
 * itself) and resolves with its output whatever the exit code. The command
 * is looked up on the given environment's PATH, so a fake tool put first
 * there wins.
 */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [command, ...args] = argv;
  if (!command) throw new Error('run: empty argv');
  options.signal?.throwIfAborted();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: 'pipe',
    // Own process group, so an interrupt reaches the compiler processes a build spawns, not just the build's driver.
    detached: true,
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout.push(chunk);
    options.log?.write(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr.push(chunk);
    options.log?.write(chunk);
  });
  // A command that reads stdin gets the input, or an immediate end; one that exits without reading it is no failure.
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const stop = () => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // The group has already gone.
    }
  };
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException }>((resolve) => {
      child.once('error', (error: NodeJS.ErrnoException) => resolve({ error }));
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    if (options.signal?.aborted) throw new InterruptedError();
    if ('error' in ended) {
      if (ended.error.code === 'ENOENT') return { exitCode: 127, stdout: '', stderr: `${command}: not found` };
      if (ended.error.code === 'EACCES') return { exitCode: 126, stdout: '', stderr: `${command}: permission denied` };
      throw ended.error;
    }
    const signal = ended.signal ?? undefined;
    const exitCode = ended.code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1);
    return { exitCode, ...(signal ? { signal } : {}), stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}

export function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

/** How a process ended, for messages: `exited with 2`, `was killed by SIGKILL`. */
export function describeTermination(result: Pick<RunResult, 'exitCode' | 'signal'>): string {
  return result.signal ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
}
