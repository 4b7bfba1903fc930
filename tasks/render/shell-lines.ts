import { toStderr, type LineFormats } from '../../core/events.js';
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
  building: (event) => toStderr([`building ${event.image} from Dockerfile.dev on ${event.engine}`]),
};
