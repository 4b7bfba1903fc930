import { Listr, type DefaultRenderer, type ListrTaskWrapper, type SimpleRenderer } from 'listr2';
import { formatLines, type Line, type Renderer } from '../../core/events.js';
import { writeLines } from './plain.js';
import type { TestRunEvent } from '../../testrunner/events.js';
import { countsText, testLines } from './test-lines.js';

type Wrapper = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

interface Row {
  task?: Wrapper;
  title: string;
  settle: (error?: Error) => void;
}

/**
 * On a terminal: one listr2 row per package while it runs (passed, failed,
 * skipped so far and the elapsed time), the steps before it as lines, and
 * the summary after. Packages run one after another, so one row is live.
 */
export function testListrRenderer(): Renderer<TestRunEvent> {
  let row: Row | undefined;
  let list: Promise<unknown> = Promise.resolve();
  const later: Line[] = [];

  const setTitle = (title: string) => {
    if (!row) return;
    row.title = title;
    if (row.task) row.task.title = title;
  };

  const onEvent = (event: TestRunEvent) => {
    switch (event.type) {
      case 'package-started': {
        let settle: (error?: Error) => void = () => {};
        const done = new Promise<void>((resolve, reject) => {
          settle = (error) => (error ? reject(error) : resolve());
        });
        const current: Row = { title: `${event.dir} (${event.index}/${event.total})`, settle };
        row = current;
        list = list.then(() =>
          new Listr([
            {
              title: current.title,
              task: async (_: unknown, task: Wrapper) => {
                current.task = task;
                task.title = current.title;
                await done;
              },
            },
          ])
            .run()
            .catch(() => undefined),
        );
        return;
      }
      case 'test-finished':
        setTitle(`${event.dir} — ${countsText(event.counts)} — ${event.elapsed.toFixed(0)}s`);
        return;
      case 'package-finished': {
        const { result } = event;
        const text = `${result.dir} — ${countsText(result.counts)} — ${(result.seconds / 60).toFixed(1)} min`;
        setTitle(text);
        row?.settle(result.exitCode === 0 ? undefined : new Error(text));
        row = undefined;
        return;
      }
      case 'summary':
        later.push(...formatLines(testLines, event));
        return;
      case 'source':
      case 'step':
      case 'installing':
      case 'daemon-ready':
      case 'compiled':
      case 'suite-skipped':
      case 'debugger-waiting':
      case 'kernel-differences':
        // Only between packages (before the first, after the last): no row is live then.
        for (const line of formatLines(testLines, event)) {
          if (row) later.push(line);
          else writeLines([line]);
        }
        return;
    }
  };
  return {
    onEvent,
    finished: async () => {
      await list;
      writeLines(later);
    },
  };
}
