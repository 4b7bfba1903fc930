import { toStderr, type LineFormats } from '../../core/events.js';
import type { DevDaemonEvent } from '../../devdaemon/events.js';
import { rootlessLines } from './rootless-lines.js';

/** `npm run dev-daemon` as plain lines (the dev daemon has no rows: it is one long-running thing). */
export const devDaemonLines: LineFormats<DevDaemonEvent> = {
  installing: (event) => `installing missing prerequisites with apt-get: ${event.packages.join(' ')} (set MOBY_MAKE_NO_INSTALL=1 to turn this off)`,
  'stale-cleaned': (event) => {
    const extra = [
      event.leftoverProcesses > 0 ? `ended ${event.leftoverProcesses} leftover process(es)` : '',
      event.leftoverMounts > 0 ? `unmounted ${event.leftoverMounts} leftover mount(s)` : '',
    ].filter(Boolean);
    return `removed a stale pidfile: pid ${event.pid ?? '(unknown)'} is not a running dev daemon${extra.length ? `; ${extra.join(', ')}` : ''}`;
  },
  ...rootlessLines,
  ready: (event) => [
    `dockerd (pid ${event.pid}) is ready in ${event.seconds.toFixed(2)} s, running the bundle's runc, containerd and docker-init${event.rootlessUser ? `, rootless as ${event.rootlessUser} under the bundle's rootlesskit` : ''}`,
    `DOCKER_HOST=${event.dockerHost}`,
    ...(event.clientDir ? [`to use the bundled docker CLI: export PATH=${event.clientDir}:$PATH DOCKER_HOST=${event.dockerHost}`] : []),
    ...(event.detached
      ? [`running in the background; log: ${event.logFile}; stop it with: npm run dev-daemon -- stop${event.rootlessUser ? ' --rootless' : ''}`]
      : []),
    ...(!event.detached && !event.logToTerminal ? [`log: ${event.logFile}`] : []),
  ],
  log: (event) => `dockerd | ${event.line}`,
  stopping: () => 'stopping dockerd…',
  'stop-pending': () => 'already stopping dockerd; the wait is bounded',
  stopped: (event) => {
    if (event.interrupted) return `stopped${event.killed ? ' (SIGKILL after the wait)' : ''}`;
    if (event.pid === undefined) {
      const leftovers = event.leftoverProcesses + event.leftoverMounts;
      const cleared = `; ended ${event.leftoverProcesses} leftover process(es), unmounted ${event.leftoverMounts} mount(s)`;
      return `no dev daemon was running from ${event.stateDir}${leftovers ? cleared : ''}`;
    }
    return `stopped dockerd (pid ${event.pid})${event.killed ? ' with SIGKILL after it ignored SIGTERM' : ''}`;
  },
  exited: (event) =>
    toStderr([`dockerd exited by itself (${typeof event.status === 'number' ? `exit code ${event.status}` : event.status})`, ...event.logTail]),
  status: (event) => {
    if (event.pid === undefined) return `not running (state folder ${event.stateDir})`;
    const since = event.record
      ? [
          `since ${event.record.startedAt}; bundle ${event.record.bundleDir}; bridge ${event.record.bridge} (${event.record.subnet})${event.record.rootless ? ` inside rootlesskit's namespace; rootless as ${event.record.rootless.user}` : ''}; log ${event.record.logFile}`,
        ]
      : [];
    return [`running: pid ${event.pid}, ${event.responding ? 'API answers' : 'API does not answer yet'}`, `DOCKER_HOST=${event.dockerHost}`, ...since];
  },
  reloaded: (event) => `sent SIGHUP to dockerd (pid ${event.pid}); it re-reads ${event.configFile}`,
};
