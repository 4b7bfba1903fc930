import { constants } from 'node:os';
import { $ } from 'zx';
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

/** Runs argv (no shell) and resolves with its output whatever the exit code. */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [command, ...args] = argv;
  if (!command) throw new Error('run: empty argv');
  const env = options.env ?? process.env;
  const shell = $({
    cwd: options.cwd,
    env: env,
    quiet: true,
    nothrow: true,
    // Own process group, so an interrupt reaches the compiler processes a build spawns, not just the build's shell.
    detached: true,
    input: options.input,
    // Keep the caller's PATH resolution: a fake tool put first on PATH must win.
    prefix: '',
    postfix: '',
  });
  const child = shell`${command} ${args}`;
  const stop = () => void child.kill('SIGTERM').catch(() => undefined);
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.log) {
    child.stdout.on('data', (chunk: Buffer) => options.log?.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => options.log?.write(chunk));
  }
  try {
    const output = await child;
    if (options.signal?.aborted) throw new InterruptedError();
    const signal = output.signal ?? undefined;
    const exitCode = output.exitCode ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1);
    return { exitCode, ...(signal ? { signal } : {}), stdout: output.stdout, stderr: output.stderr };
  } catch (error) {
    if (options.signal?.aborted) throw new InterruptedError();
    if (isMissingCommand(error)) return { exitCode: 127, stdout: '', stderr: `${command}: not found` };
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}

export function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

function isMissingCommand(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}

/** How a process ended, for messages: `exited with 2`, `was killed by SIGKILL`. */
export function describeTermination(result: Pick<RunResult, 'exitCode' | 'signal'>): string {
  return result.signal ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
}
