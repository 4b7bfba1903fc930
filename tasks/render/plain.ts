import type { MakeEvent } from '../../build/make.js';

/** One line per event: what CI logs and pipes want. */
export function plainRenderer(write: (line: string) => void = (line) => console.log(line)): (event: MakeEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'plan':
        write(`building: ${event.components.join(', ')}`);
        break;
      case 'message':
        write(event.text);
        break;
      case 'state':
        write(`${event.component}: ${event.state}`);
        break;
      case 'up-to-date':
        write(`${event.component}: up to date`);
        break;
      case 'built':
        write(`${event.component}: built in ${event.seconds.toFixed(1)}s`);
        break;
      case 'failed':
        write(`${event.component}: FAILED: ${event.error} (log: ${event.logFile})`);
        break;
      case 'published':
        break;
    }
  };
}
