import { Listr, type ListrTaskWrapper, type DefaultRenderer, type SimpleRenderer } from 'listr2';
import type { MakeEvent } from '../../build/make.js';

type Wrapper = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

interface Row {
  task?: Wrapper;
  /** The latest title; events can arrive before listr2 has started the row's task. */
  title: string;
  started: number;
  settle: (error?: Error) => void;
  done: Promise<void>;
}

/**
 * A listr2 row per component. listr2 only renders: each row's task waits for
 * the engine's events about that component and reflects them.
 */
export function listrRenderer(): { onEvent: (event: MakeEvent) => void; finished: () => Promise<void> } {
  const rows = new Map<string, Row>();
  const messages: string[] = [];
  let list: Promise<unknown> = Promise.resolve();

  const onEvent = (event: MakeEvent) => {
    if (event.type === 'plan') {
      for (const name of event.components) {
        let settle: (error?: Error) => void = () => {};
        const done = new Promise<void>((resolve, reject) => {
          settle = (error) => (error ? reject(error) : resolve());
        });
        rows.set(name, { started: Date.now(), title: name, settle, done });
      }
      list = new Listr(
        event.components.map((name) => ({
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
      return;
    }
    if (event.type === 'message') {
      messages.push(event.text);
      return;
    }
    if (event.type === 'published') return;
    const row = rows.get(event.component);
    if (!row) return;
    const elapsed = () => `${((Date.now() - row.started) / 1000).toFixed(1)}s`;
    const setTitle = (title: string) => {
      row.title = title;
      if (row.task) row.task.title = title;
    };
    switch (event.type) {
      case 'state':
        setTitle(`${event.component} — ${event.state} (${elapsed()})`);
        break;
      case 'up-to-date':
        setTitle(`${event.component} — up to date`);
        row.settle();
        break;
      case 'built':
        setTitle(`${event.component} — built in ${elapsed()}`);
        row.settle();
        break;
      case 'failed':
        row.settle(new Error(`${event.component} — failed after ${elapsed()}: ${event.error}`));
        break;
    }
  };
  return {
    onEvent,
    finished: async () => {
      await list;
      for (const message of messages) console.log(message);
    },
  };
}
