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
  [K in E['type']]: (event: Extract<E, { type: K }>) => string | readonly string[] | undefined;
};

export function formatLines<E extends Event>(formats: LineFormats<E>, event: E): readonly string[] {
  const format = formats[event.type as E['type']] as (event: E) => string | readonly string[] | undefined;
  const lines = format(event);
  if (lines === undefined) return [];
  return typeof lines === 'string' ? [lines] : lines;
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
