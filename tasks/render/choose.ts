import { UserError, unreachable } from '../../core/errors.js';
import type { Event, LineFormats, Renderer } from '../../core/events.js';
import { jsonLinesRenderer } from './json-lines.js';
import { listrRenderer, type RowView } from './listr.js';
import { plainRenderer } from './plain.js';
import type { Env } from '../../core/env.js';

export const OUTPUT_MODES = ['tty', 'plain', 'json'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];

/** `--output MODE` when given; otherwise rows on a terminal, plain lines in CI and pipes. */
export function outputMode(requested: string | undefined, env: Env, isTTY = Boolean(process.stdout.isTTY)): OutputMode {
  if (requested === undefined) return isTTY && !env.CI ? 'tty' : 'plain';
  if ((OUTPUT_MODES as readonly string[]).includes(requested)) return requested as OutputMode;
  throw new UserError(`--output ${requested} is not an output mode`, `Use one of: ${OUTPUT_MODES.join(', ')}.`);
}

/** The renderer for a mode: listr2 rows where the command has a row view (else plain lines), plain, or JSON lines. */
export function createRenderer<E extends Event>(mode: OutputMode, view: { lines: LineFormats<E>; rows?: RowView<E> }): Renderer<E> {
  switch (mode) {
    case 'tty':
      return view.rows ? listrRenderer(view.rows) : plainRenderer(view.lines);
    case 'plain':
      return plainRenderer(view.lines);
    case 'json':
      return jsonLinesRenderer();
    default:
      return unreachable(mode);
  }
}
