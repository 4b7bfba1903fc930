/**
 * Every user-visible thing a command does is a typed event. Subsystems emit
 * them and never print; a renderer (listr2 rows on a terminal, plain lines in
 * CI, JSON lines for tools) is the only thing that writes to the screen, and
 * tests assert on events rather than on printed text.
 */
export interface Event {
  type: string;
}

export type Listener<E extends Event> = (event: E) => void;

/**
 * How each kind of event reads as plain lines. The mapped type makes a new
 * kind without a format a compile error, so no event is silently dropped.
 * `undefined` (or an empty array) means the kind has no line of its own.
 */
export type LineFormats<E extends Event> = {
  [K in E['type']]: (event: Extract<E, { type: K }>) => Lines;
};

/** A line for standard output, or one for standard error (failures, so they stay visible when stdout is redirected). */
export type Line = string | { readonly stderr: string };
export type Lines = Line | readonly Line[] | undefined;

export function formatLines<E extends Event>(formats: LineFormats<E>, event: E): readonly Line[] {
  const format = formats[event.type as E['type']] as (event: E) => Lines;
  const lines = format(event);
  if (lines === undefined) return [];
  return isLineList(lines) ? lines : [lines];
}

function isLineList(lines: Line | readonly Line[]): lines is readonly Line[] {
  return Array.isArray(lines);
}

export function toStderr(lines: readonly string[]): Line[] {
  return lines.map((stderr) => ({ stderr }));
}

export interface Renderer<E extends Event> {
  onEvent: Listener<E>;
  /** Resolves once everything the events asked for is on screen. */
  finished: () => Promise<void>;
}

/** Collects events, for tests and for callers that decide afterwards. */
export function recorder<E extends Event>(): { onEvent: Listener<E>; events: E[] } {
  const events: E[] = [];
  return { onEvent: (event) => void events.push(event), events };
}
