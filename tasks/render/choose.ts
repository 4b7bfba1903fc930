import { UserError } from '../../core/errors.js';
import type { Env } from '../../core/env.js';

export const OUTPUT_MODES = ['tty', 'plain', 'json'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];

/** `--output MODE` when given; otherwise rows on a terminal, plain lines in CI and pipes. */
export function outputMode(requested: string | undefined, env: Env, isTTY = Boolean(process.stdout.isTTY)): OutputMode {
  if (requested === undefined) return isTTY && !env.CI ? 'tty' : 'plain';
  if ((OUTPUT_MODES as readonly string[]).includes(requested)) return requested as OutputMode;
  throw new UserError(`--output ${requested} is not an output mode`, `Use one of: ${OUTPUT_MODES.join(', ')}.`);
}
