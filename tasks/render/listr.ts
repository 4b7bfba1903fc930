import { Listr, type ListrTaskWrapper, type DefaultRenderer, type SimpleRenderer } from 'listr2';
import type { Event, Line, Renderer } from '../../core/events.js';
import { writeLines } from './plain.js';

type Wrapper = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

/** What an event does to its row: a new title, and whether the row is finished. */
export interface RowUpdate {
  row: string;
  /** Gets the seconds since the row appeared, for titles that show elapsed time. */
  title: string | ((elapsedSeconds: number) => string);
  outcome?: 'done' | 'failed';
}

/** How a command's events map onto listr2 rows (one per component, package, ...). */
export interface RowView<E extends Event> {
  /** The rows an event announces, in order (e.g. a build plan). */
  rows: (event: E) => readonly string[] | undefined;
  update: (event: E) => RowUpdate | undefined;
  /** Lines printed below the rows once they are all done (messages, failure logs, a summary). */
  after: (event: E) => readonly Line[];
}

interface Row {
  task?: Wrapper;
  /** The latest title; events can arrive before listr2 has started the row's task. */
  title: string;
  started: number;
  settle: (error?: Error) => void;
  done: Promise<void>;
}

/** listr2 only renders: each row's task waits for the events about its row and reflects them. */
export function listrRenderer<E extends Event>(view: RowView<E>): Renderer<E> {
  const rows = new Map<string, Row>();
  const afterwards: Line[] = [];
  let list: Promise<unknown> = Promise.resolve();

  const start = (names: readonly string[]) => {
    for (const name of names) {
      let settle: (error?: Error) => void = () => {};
      const done = new Promise<void>((resolve, reject) => {
        settle = (error) => (error ? reject(error) : resolve());
      });
      rows.set(name, { started: Date.now(), title: name, settle, done });
    }
    list = new Listr(
      names.map((name) => ({
        title: name,
        task: async (_: unknown, task: Wrapper) => {
          const row = rows.get(name);
          if (!row) return;
          row.task = task;
          task.title = row.title;
          await row.done;
        },
      })),
      { concurrent: true, exitOnError: false, rendererOptions: { collapseErrors: false } },
    )
      .run()
      .catch(() => undefined);
  };

  const apply = (update: RowUpdate) => {
    const row = rows.get(update.row);
    if (!row) return;
    const title = typeof update.title === 'string' ? update.title : update.title((Date.now() - row.started) / 1000);
    row.title = title;
    if (row.task) row.task.title = title;
    if (update.outcome === 'done') row.settle();
    if (update.outcome === 'failed') row.settle(new Error(title));
  };

  return {
    onEvent: (event) => {
      const announced = view.rows(event);
      if (announced) start(announced);
      const update = view.update(event);
      if (update) apply(update);
      afterwards.push(...view.after(event));
    },
    finished: async () => {
      await list;
      writeLines(afterwards);
    },
  };
}
