import { explain, type NotFound } from './daemon.js';
import type { Context } from './command.js';

/**
 * As the docker CLI: every name is tried, each success prints its line, each
 * failure its one-line error, and any failure makes the exit code 1.
 */
export async function eachName(
  names: readonly string[],
  context: Context,
  notFound: (name: string) => NotFound,
  act: (name: string) => Promise<string>,
): Promise<number> {
  let failed = 0;
  for (const name of names) {
    try {
      context.print(await act(name));
    } catch (error) {
      failed += 1;
      const explained = explain(error, context.daemon, notFound(name));
      if (names.length === 1) throw explained;
      context.reportError(explained);
    }
  }
  return failed > 0 ? 1 : 0;
}

export const noContainer =
  (name: string): NotFound =>
  () => ({ what: `no container named ${name}` });
