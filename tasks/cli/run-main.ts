import { setMaxListeners } from 'node:events';
import { InterruptedError, UsageError, UserError } from '../../core/errors.js';

/**
 * Runs a command's main: a UserError prints as its message and hint, anything
 * else is a bug and prints its stack only with --verbose or DEBUG set.
 */
export async function runMain(main: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (error) {
    code = reportError(error);
  }
  process.exit(code);
}

export function reportError(error: unknown): number {
  const verbose = Boolean(process.env.DEBUG) || process.argv.includes('--verbose');
  if (isArgumentError(error)) {
    console.error(`error: ${error.message}`);
    console.error('Run with --help for the options.');
    return 2;
  }
  if (error instanceof UserError) {
    console.error(`error: ${error.message}`);
    if (error.hint) console.error(error.hint);
    if (verbose && error.stack) console.error(error.stack);
    if (error instanceof UsageError) return 2;
    return error instanceof InterruptedError ? 130 : 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`error: ${message}`);
  if (verbose && error instanceof Error && error.stack) console.error(error.stack);
  else console.error('(run again with --verbose for details)');
  return 1;
}

/** node:util parseArgs rejects unknown or malformed options with these codes. */
function isArgumentError(error: unknown): error is Error {
  return error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS');
}

/**
 * An AbortSignal that fires on Ctrl-C or SIGTERM. With `outliveRepeats`, a
 * further Ctrl-C or SIGTERM is ignored once it fired: a terminal's Ctrl-C
 * reaches us twice under npm (directly and forwarded), and a command that
 * stops something in order (a guest's power-off) must not die of the second.
 */
export function interruptSignal(options: { outliveRepeats?: boolean } = {}): AbortSignal {
  const controller = new AbortController();
  // Every running build step listens on it; more than ten at once is normal.
  setMaxListeners(100, controller.signal);
  const abort = () => {
    controller.abort(new InterruptedError());
    if (options.outliveRepeats) {
      process.on('SIGINT', () => undefined);
      process.on('SIGTERM', () => undefined);
    }
  };
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return controller.signal;
}

export function parseList(value: string | undefined): string[] | undefined {
  return value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
