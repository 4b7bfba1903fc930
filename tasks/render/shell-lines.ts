import { toStderr, type Line, type LineFormats } from '../../core/events.js';
import { noticeLine } from './make-lines.js';
import type { DevContainerEvent } from '../../devcontainer/dev-image.js';
import type { StartedEngine } from '../lib/shell-engine.js';

export type ShellEvent = DevContainerEvent | ({ type: 'dev-daemon-started' } & StartedEngine);

/** `npm run shell` says what it does on stderr: stdout is the command's own. */
export const shellLines: LineFormats<ShellEvent> = {
  'dev-daemon-started': (event) =>
    toStderr([
      `no DOCKER_HOST and no dev daemon: started one (pid ${event.pid}, ${event.dockerHost}, ready in ${event.seconds.toFixed(1)} s, log ${event.logFile}); it stays for the next shell — stop it with: npm run dev-daemon -- stop`,
    ]),
  installing: (event) => toStderr([`installing missing prerequisites with apt-get: ${event.packages.join(' ')} (set MOBY_MAKE_NO_INSTALL=1 to turn this off)`]),
  'making-base': (event) => toStderr([`${event.image} is not in the engine: making it with mmdebstrap from this machine's Debian mirror`]),
  'base-made': (event) => toStderr([`made ${event.image} in ${event.seconds.toFixed(0)} s`]),
  building: (event) => toStderr([`building ${event.image} from Dockerfile.dev on ${event.engine} (key ${event.key})`]),
  'dev-image-current': (event) => toStderr([`${event.image}: up to date with Dockerfile.dev (key ${event.key})`]),
  'dev-image-pulled': (event) => toStderr([`${event.image}: from cache ${event.ref} in ${event.seconds.toFixed(1)}s`]),
  'dev-image-pushed': (event) => toStderr([`${event.image}: pushed to ${event.ref}`]),
  'dev-image-load-failed': (event) => toStderr([`warning: ${event.image} from the cache registry: ${event.reason}; building it here`]),
  cache: (event) => [onStderr(noticeLine(event.notice))],
};

function onStderr(line: Line): Line {
  return typeof line === 'string' ? { stderr: line } : line;
}
