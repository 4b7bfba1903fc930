import type { Event, Renderer } from '../../core/events.js';

/** Each event as one JSON object per line (`--output json`), for editors, CI annotations and scripts. */
export function jsonLinesRenderer<E extends Event>(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Renderer<E> {
  return {
    onEvent: (event) => write(JSON.stringify({ time: new Date().toISOString(), ...event })),
    finished: () => Promise.resolve(),
  };
}
