import { afterAll } from 'vitest';
import type { RunnerTask } from 'vitest';
import { cleanUpTempDirs } from './temp.js';

function failed(task: Readonly<RunnerTask>): boolean {
  if (task.result?.state === 'fail') return true;
  return 'tasks' in task && task.tasks.some(failed);
}

// After each test file: its temporary folders go unless a test failed, in which case they stay for a look.
// (vitest requires a destructuring pattern for the hook's first argument; the file is the second.)
// eslint-disable-next-line no-empty-pattern
afterAll(({}, file) => {
  const { kept } = cleanUpTempDirs(failed(file));
  if (kept.length > 0) console.warn(`kept for inspection:\n${kept.map((dir) => `  ${dir}`).join('\n')}`);
});
