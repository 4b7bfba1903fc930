import { formatLines, type Event, type Line, type LineFormats, type Renderer } from '../../core/events.js';

export type LineWriter = (line: string, stream: 'stdout' | 'stderr') => void;

const consoleWriter: LineWriter = (line, stream) => (stream === 'stderr' ? console.error(line) : console.log(line));

/** One line (or a few) per event: what CI logs and pipes want. */
export function plainRenderer<E extends Event>(formats: LineFormats<E>, write: LineWriter = consoleWriter): Renderer<E> {
  return {
    onEvent: (event) => writeLines(formatLines(formats, event), write),
    finished: () => Promise.resolve(),
  };
}

export function writeLines(lines: readonly Line[], write: LineWriter = consoleWriter): void {
  for (const line of lines) {
    if (typeof line === 'string') write(line, 'stdout');
    else write(line.stderr, 'stderr');
  }
}
