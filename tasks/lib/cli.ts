import { UserError } from '../../engine/errors.js';

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
  if (error instanceof UserError) {
    console.error(`error: ${error.message}`);
    if (error.hint) console.error(error.hint);
    if (verbose && error.stack) console.error(error.stack);
    return error.message === 'interrupted' ? 130 : 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`error: ${message}`);
  if (verbose && error instanceof Error && error.stack) console.error(error.stack);
  else console.error('(run again with --verbose for details)');
  return 1;
}

/** An AbortSignal that fires on Ctrl-C or SIGTERM. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const abort = () => controller.abort(new UserError('interrupted'));
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return controller.signal;
}

export function parseList(value: string | undefined): string[] | undefined {
  return value?.split(',').map((s) => s.trim()).filter(Boolean);
}
