import type { LineFormats } from '../../core/events.js';
import { installingLine, noticeLine } from './make-lines.js';
import type { FrozenImageEvent } from '../../testrunner/frozen-images/index.js';

/** Frozen-image events as plain lines (for `npm run frozen-images` and the test runner's CI output). */
export const frozenImageLines: LineFormats<FrozenImageEvent> = {
  present: (event) => `${event.image}: already in the daemon`,
  cached: (event) => `${event.image}: in the cache (key ${event.key})`,
  making: (event) => `${event.image}: making it: ${event.how} (log: ${event.log})`,
  made: (event) => `${event.image}: made in ${event.seconds.toFixed(1)}s`,
  pulled: (event) => `${event.image}: from cache ${event.ref} in ${event.seconds.toFixed(1)}s`,
  pushed: (event) => `${event.image}: pushed to ${event.ref}`,
  cache: (event) => noticeLine(event.notice),
  loaded: (event) => `${event.image}: loaded as ${event.tags.join(', ')} in ${event.seconds.toFixed(1)}s`,
  installing: installingLine,
};
