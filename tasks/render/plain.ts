import { formatLines, type Event, type LineFormats, type Renderer } from '../../core/events.js';

/** One line (or a few) per event: what CI logs and pipes want. */
export function plainRenderer<E extends Event>(formats: LineFormats<E>, write: (line: string) => void = (line) => console.log(line)): Renderer<E> {
  return {
    onEvent: (event) => {
      for (const line of formatLines(formats, event)) write(line);
    },
    finished: () => Promise.resolve(),
  };
}
