import { toStderr, type LineFormats } from '../../core/events.js';
import type { DevContainerEvent } from '../../devcontainer/dev-image.js';

/** `npm run shell` says what it does on stderr: stdout is the command's own. */
export const shellLines: LineFormats<DevContainerEvent> = {
  installing: (event) => toStderr([`installing missing prerequisites with apt-get: ${event.packages.join(' ')} (set MOBY_MAKE_NO_INSTALL=1 to turn this off)`]),
  'making-base': (event) => toStderr([`${event.image} is not in the engine: making it with mmdebstrap from this machine's Debian mirror`]),
  'base-made': (event) => toStderr([`made ${event.image} in ${event.seconds.toFixed(0)} s`]),
  building: (event) => toStderr([`building ${event.image} from Dockerfile.dev on ${event.engine}`]),
};
