import type { LineFormats } from '../../core/events.js';
import type { MakeEvent } from '../../build/make.js';

/** `npm run make` as plain lines. */
export const makeLines: LineFormats<MakeEvent> = {
  plan: (event) => `building: ${event.components.join(', ')}`,
  message: (event) => event.text,
  state: (event) => `${event.component}: ${event.state}`,
  'up-to-date': (event) => `${event.component}: up to date`,
  built: (event) => `${event.component}: built in ${event.seconds.toFixed(1)}s`,
  failed: (event) => `${event.component}: FAILED: ${event.error} (log: ${event.logFile})`,
  published: () => undefined,
};
