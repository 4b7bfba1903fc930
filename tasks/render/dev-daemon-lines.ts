import { unreachable } from '../../core/errors.js';
import { toStderr, type Line, type LineFormats } from '../../core/events.js';
import type { DevDaemonEvent, RoundBuild } from '../../devdaemon/events.js';
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
    ...(event.debugListen ? [`delve (API v2) listens on ${event.debugListen}: dlv connect ${event.debugListen}`] : []),
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
  watching: (event) => [
    ...event.trees.map((tree) => `watching ${tree.dir} (${tree.component})`),
    event.rootless
      ? "containers stop at each restart: a rootless daemon's live in rootlesskit's namespaces, which end with it (--live-restore cannot keep them)"
      : event.liveRestore
        ? 'containers survive each restart (--live-restore)'
        : 'containers stop at each restart; pass --live-restore to keep them running',
    `dockerd's log: ${event.logFile}`,
  ],
  round: roundLines,
  'round-rest': roundRestLines,
};

/** One status line per round of edits; a failed build adds the compiler's last lines on stderr. */
function roundLines(event: Extract<DevDaemonEvent, { type: 'round' }>): Line[] {
  const shown = event.changed.slice(0, 3).join(', ') + (event.changed.length > 3 ? ` and ${event.changed.length - 3} more` : '');
  return buildLines(`${shown} changed: `, event, event.next.length > 0 ? `; next: ${event.next.join(', ')}` : '');
}

/**
 * The rest of a round (docker-proxy and the rootless scripts, built after the
 * new dockerd answers) has a line only when it matters: a failure, or a
 * changed docker-proxy that restarted dockerd again.
 */
function roundRestLines(event: Extract<DevDaemonEvent, { type: 'round-rest' }>): Line[] | undefined {
  return event.outcome === 'unchanged' ? undefined : buildLines('then ', event);
}

/** `then` ends the line of a build that went well (what the round builds next). */
function buildLines(prefix: string, event: RoundBuild, then = ''): Line[] {
  const made = [...event.rebuilt.map((c) => `rebuilt ${c}`), ...event.restored.map((c) => `restored ${c}`)].join(', ') || 'nothing to rebuild';
  const head = `${prefix}${made} in ${event.rebuildSeconds.toFixed(1)} s`;
  switch (event.outcome) {
    case 'restarted':
      return [
        `${head}; restarted dockerd in ${(event.restartSeconds ?? 0).toFixed(1)} s, GitCommit ${event.gitCommit ?? '?'}${event.liveRestore ? ' (containers kept)' : ''}${then}`,
      ];
    case 'unchanged':
      return [`${head}; dockerd's files are unchanged, kept it running${then}`];
    case 'failed':
      return [
        { stderr: `${head}; the build FAILED, the running dockerd is kept` },
        ...event.failures.flatMap((failure) => toStderr([`--- ${failure.component}: ${failure.error}; last lines of ${failure.logFile}:`, ...failure.logTail])),
      ];
    case 'start-failed':
      return toStderr([`${head}; the new dockerd did not start, it starts again after the next good build:`, event.startError ?? '']);
    default:
      return unreachable(event.outcome);
  }
}
