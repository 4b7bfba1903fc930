import { toStderr, type Line, type LineFormats } from '../../core/events.js';
import type { MakeEvent } from '../../builder/make.js';
import type { RowView } from './listr.js';
import { unreachable } from '../../core/errors.js';
import type { RemoteNotice } from '../../core/remote-outputs.js';

type Failed = Extract<MakeEvent, { type: 'failed' }>;
type Finished = Extract<MakeEvent, { type: 'finished' }>;

const RESTORED = 'an earlier build of this exact source, kept in bundles/.builds: republished without compiling';

/** `npm run make` as plain lines; `verbose` adds the stack of a bug. */
export function makeLines(verbose = false): LineFormats<MakeEvent> {
  return {
    plan: (event) => `building: ${event.components.join(', ')}`,
    installing: installingLine,
    'manifest-unreadable': manifestLine,
    state: (event) => `${event.component}: ${event.state}`,
    'up-to-date': (event) => `${event.component}: up to date`,
    built: (event) => `${event.component}: built in ${event.seconds.toFixed(1)}s`,
    restored: (event) => `${event.component}: ${RESTORED}`,
    fetched: (event) => `${event.component}: ${fetchedText(event)}`,
    pushed: (event) => `${event.component}: pushed to ${event.ref}`,
    cache: (event) => noticeLine(event.notice),
    failed: (event) => [failedLine(event), ...failureDetails(event, verbose)],
    published: () => undefined,
    finished: summaryLines,
  };
}

/** On a terminal: a row per component, and the rest below the rows once they finish. */
export function makeRows(verbose = false): RowView<MakeEvent> {
  return {
    rows: (event) => (event.type === 'plan' ? event.components : undefined),
    update: (event) => {
      switch (event.type) {
        case 'state':
          return { row: event.component, title: (elapsed) => `${event.component} — ${event.state} (${elapsed.toFixed(1)}s)` };
        case 'up-to-date':
          return { row: event.component, title: `${event.component} — up to date`, outcome: 'done' };
        case 'built':
          return { row: event.component, title: (elapsed) => `${event.component} — built in ${elapsed.toFixed(1)}s`, outcome: 'done' };
        case 'restored':
          return { row: event.component, title: `${event.component} — ${RESTORED}`, outcome: 'done' };
        case 'fetched':
          return { row: event.component, title: `${event.component} — ${fetchedText(event)}`, outcome: 'done' };
        case 'failed':
          return { row: event.component, title: (elapsed) => `${event.component} — ${failedLine(event)} after ${elapsed.toFixed(1)}s`, outcome: 'failed' };
        case 'plan':
        case 'installing':
        case 'manifest-unreadable':
        case 'pushed':
        case 'cache':
        case 'published':
        case 'finished':
          return undefined;
      }
    },
    after: (event) => {
      switch (event.type) {
        case 'installing':
          return [installingLine(event)];
        case 'manifest-unreadable':
          return [manifestLine(event)];
        case 'failed':
          return failureDetails(event, verbose);
        case 'pushed':
          return [`${event.component}: pushed to ${event.ref}`];
        case 'cache':
          return [noticeLine(event.notice)];
        case 'finished':
          return summaryLines(event);
        case 'plan':
        case 'state':
        case 'up-to-date':
        case 'built':
        case 'restored':
        case 'fetched':
        case 'published':
          return [];
      }
    },
  };
}

/** Shared by every command that may apt-get its prerequisites. */
export function installingLine(event: { packages: readonly string[] }): string {
  return `installing missing prerequisites with apt-get: ${event.packages.join(' ')} (set MOBY_MAKE_NO_INSTALL=1 to turn this off)`;
}

function manifestLine(event: Extract<MakeEvent, { type: 'manifest-unreadable' }>): Line {
  return {
    stderr: `warning: ${event.file} cannot be read (${event.reason}); rebuilding every component, the current bundle stays until the new one is published`,
  };
}

function fetchedText(event: Extract<MakeEvent, { type: 'fetched' }>): string {
  return `from cache ${event.ref} in ${event.seconds.toFixed(1)}s`;
}

/** The shared cache never fails a build, so what it has to say is a warning beside it. */
export function noticeLine(notice: RemoteNotice): Line {
  switch (notice.kind) {
    case 'unreachable':
      return { stderr: `warning: the cache registry ${notice.store} is unreachable (${notice.reason}); building locally` };
    case 'plain-http':
      return `note: ${notice.store} is on loopback and does not speak TLS: using plain HTTP`;
    case 'throttled':
      return `note: the cache registry ${notice.store} asked to slow down (${notice.status}): its calls wait and ask again`;
    case 'corrupt':
      return { stderr: `warning: cache entry ${notice.ref} is corrupt (${notice.reason}); building it locally` };
    case 'unsigned':
      return { stderr: `warning: cache entry ${notice.ref} is refused: ${notice.reason}; building it locally` };
    case 'push-failed':
      return { stderr: `warning: ${notice.component} was not pushed to ${notice.store}: ${notice.reason}` };
    case 'use-not-recorded':
      return {
        stderr: `warning: ${notice.store} has not recorded this run's use of ${notice.component} (${notice.reason}); cache prune may take it for unused`,
      };
    default:
      return unreachable(notice);
  }
}

function failedLine(event: Failed): string {
  const what = event.bug ? `INTERNAL ERROR (a bug in moby-make): ${event.error}` : event.error;
  return `${event.component}: FAILED: ${what}${event.cause ? ` — ${event.cause}` : ''} (log: ${event.logFile})`;
}

/** The log's last lines go to stderr, where a failure belongs; a bug adds its stack under --verbose. */
function failureDetails(event: Failed, verbose: boolean): Line[] {
  const lines = [`\n--- ${event.component} failed: ${event.error}`, `--- last ${event.logTail.length} lines of ${event.logFile}:`, ...event.logTail];
  if (event.bug) lines.push(verbose ? event.bug : '(this is a bug in moby-make; run with --verbose for its stack)');
  return toStderr(lines);
}

function summaryLines(event: Finished): Line[] {
  const lines: Line[] = [];
  const where = event.bundleDirs.join(' and ');
  if (event.built.length === 0 && event.restored.length === 0 && event.fetched.length === 0 && event.failed.length === 0)
    lines.push(`everything is up to date in ${where}`);
  if (event.built.length > 0) lines.push(`built ${event.built.join(', ')} into ${where}`);
  if (event.restored.length > 0) lines.push(`restored ${event.restored.join(', ')} into ${where}`);
  if (event.fetched.length > 0) lines.push(`took ${event.fetched.join(', ')} from the shared cache into ${where}`);
  if (event.failed.length > 0) {
    const them = event.failed.length > 1 ? 'them' : 'it';
    lines.push({ stderr: `\nfailed: ${event.failed.join(', ')}; the previous bundle for ${them} is unchanged` });
  }
  return lines;
}
