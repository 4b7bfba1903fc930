import { toStderr, type Line, type LineFormats } from '../../core/events.js';
import type { VerifyEvent } from '../../builder/rebuild/verify.js';
import type { RowView } from './listr.js';

type FileRow = Extract<VerifyEvent, { type: 'file' }>;
type Failed = Extract<VerifyEvent, { type: 'component-failed' }>;
type Finished = Extract<VerifyEvent, { type: 'finished' }>;

/** `npm run verify-bundle` as plain lines: a row per file, the failing command's log, a summary. */
export const verifyLines: LineFormats<VerifyEvent> = {
  plan: (event) => `verifying ${event.components.join(', ')} from ${event.manifest} (replaying in ${event.workDir})`,
  toolchain: (event) => `toolchain as recorded: ${Object.values(event.versions).join('; ')}`,
  state: (event) => `${event.component}: ${event.state}`,
  command: (event) => `${event.component}: [${event.index + 1}/${event.total}] ${event.command}`,
  'component-failed': failureLines,
  file: fileLine,
  'component-done': () => undefined,
  finished: summaryLines,
};

/** On a terminal: a row per component; the file rows and summary print below once all are done. */
export const verifyRows: RowView<VerifyEvent> = {
  rows: (event) => (event.type === 'plan' ? event.components : undefined),
  update: (event) => {
    switch (event.type) {
      case 'state':
        return { row: event.component, title: (elapsed) => `${event.component} — ${event.state} (${elapsed.toFixed(1)}s)` };
      case 'command':
        return { row: event.component, title: (elapsed) => `${event.component} — command ${event.index + 1}/${event.total} (${elapsed.toFixed(1)}s)` };
      case 'component-failed':
        return { row: event.component, title: `${event.component} — FAILED: ${event.error.split('\n')[0] ?? ''}`, outcome: 'failed' };
      case 'component-done': {
        const verdict = event.differing === 0 ? `${event.reproduced} reproduced` : `${event.differing} DIFFER`;
        return {
          row: event.component,
          title: `${event.component} — ${verdict} in ${event.seconds.toFixed(1)}s`,
          outcome: event.differing === 0 ? 'done' : 'failed',
        };
      }
      case 'plan':
      case 'toolchain':
      case 'file':
      case 'finished':
        return undefined;
    }
  },
  after: (event) => {
    switch (event.type) {
      case 'file':
        return [fileLine(event)];
      case 'component-failed':
        return failureLines(event);
      case 'finished':
        return summaryLines(event);
      case 'plan':
      case 'toolchain':
      case 'state':
      case 'command':
      case 'component-done':
        return [];
    }
  },
};

function fileLine(event: FileRow): Line {
  switch (event.outcome) {
    case 'reproduced':
      return `${event.file}: reproduced ${event.recorded}`;
    case 'DIFFERS':
      return { stderr: `${event.file}: DIFFERS: manifest ${event.recorded}, rebuilt ${event.rebuilt ?? ''}` };
    case 'missing':
      return { stderr: `${event.file}: DIFFERS: manifest ${event.recorded}, the replay did not produce it` };
  }
}

function failureLines(event: Failed): Line[] {
  const tail = event.logTail.length > 0 ? [`--- last ${event.logTail.length} lines of its output:`, ...event.logTail] : [];
  return toStderr([`${event.component}: FAILED: ${event.error}`, ...tail]);
}

function summaryLines(event: Finished): Line[] {
  const lines: Line[] = [];
  const total = event.reproduced.length + event.differing.length;
  if (total > 0) lines.push(`${event.reproduced.length} of ${total} files reproduced in ${event.seconds.toFixed(1)}s`);
  if (event.differing.length > 0) lines.push({ stderr: `DIFFERS: ${event.differing.join(', ')}` });
  if (event.failed.length > 0) lines.push({ stderr: `not replayed: ${event.failed.join(', ')}` });
  if (event.keptDir) lines.push(`kept: ${event.keptDir}`);
  return lines;
}
