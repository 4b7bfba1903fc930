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
  done?: Promise<void>;
}

function newRow(title: string): Row {
  const row: Row = { title, settle: () => {} };
  row.done = new Promise<void>((resolve, reject) => {
    row.settle = (error) => (error ? reject(error) : resolve());
  });
  return row;
}

function rowTask(row: Row) {
  return {
    title: row.title,
    task: async (_: unknown, task: Wrapper) => {
      row.task = task;
      task.title = row.title;
      await row.done;
    },
  };
}

/**
 * On a terminal: one listr2 row per package while it runs (passed, failed,
 * skipped so far and the elapsed time), the steps before it as lines, and
 * the summary after. Packages run one after another, so one row is live;
 * with --jobs, one row per lane, each showing the package it runs.
 */
export function testListrRenderer(): Renderer<TestRunEvent> {
  let row: Row | undefined;
  let list: Promise<unknown> = Promise.resolve();
  const later: Line[] = [];
  const lanes = new Map<number, Row & { failed: boolean }>();
  const setLaneTitle = (job: number, title: string) => {
    const lane = lanes.get(job);
    if (!lane) return;
    lane.title = `job ${job}: ${title}`;
    if (lane.task) lane.task.title = lane.title;
  };

  const setTitle = (title: string) => {
    if (!row) return;
    row.title = title;
    if (row.task) row.task.title = title;
  };

  const onEvent = (event: TestRunEvent) => {
    switch (event.type) {
      case 'jobs-started': {
        for (const job of event.jobs) lanes.set(job, { ...newRow(`job ${job}: starting`), failed: false });
        const rows = [...lanes.values()];
        list = list.then(() => new Listr(rows.map(rowTask), { concurrent: true, exitOnError: false }).run().catch(() => undefined));
        return;
      }
      case 'package-started': {
        if (event.job !== undefined) return setLaneTitle(event.job, `${event.dir} (${event.index}/${event.total})`);
        const current = newRow(`${event.dir} (${event.index}/${event.total})`);
        row = current;
        list = list.then(() => new Listr([rowTask(current)]).run().catch(() => undefined));
        return;
      }
      case 'test-finished': {
        const text = `${event.dir} — ${countsText(event.counts)} — ${event.elapsed.toFixed(0)}s`;
        if (event.job !== undefined) return setLaneTitle(event.job, text);
        setTitle(text);
        return;
      }
      case 'package-finished': {
        const { result } = event;
        const text = `${result.dir} — ${countsText(result.counts)} — ${(result.seconds / 60).toFixed(1)} min`;
        const lane = event.job !== undefined ? lanes.get(event.job) : undefined;
        if (event.job !== undefined && lane) {
          lane.failed ||= result.exitCode !== 0;
          return setLaneTitle(event.job, text);
        }
        setTitle(text);
        row?.settle(result.exitCode === 0 ? undefined : new Error(text));
        row = undefined;
        return;
      }
      case 'summary':
        for (const lane of lanes.values()) lane.settle(lane.failed ? new Error(lane.title) : undefined);
        lanes.clear();
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
          if (row || lanes.size > 0) later.push(line);
          else writeLines([line]);
        }
        return;
    }
  };
  return {
    onEvent,
    finished: async () => {
      // A run that ended without a summary (an error) must not leave a lane waiting.
      for (const lane of lanes.values()) lane.settle(new Error(lane.title));
      await list;
      writeLines(later);
    },
  };
}
