import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CLIENT_BUNDLE, bundlePaths } from '../core/bundle-layout.js';
import { defaultStateDir, stateLayout } from '../devdaemon/layout.js';
import { stoppedEvent } from '../devdaemon/events.js';
import { superviseForeground } from '../devdaemon/supervise.js';
import { unreachable } from '../core/errors.js';
import { createRenderer, outputMode } from './render/choose.js';
import { devDaemonLines } from './render/dev-daemon-lines.js';
import { parseDevDaemonArgs } from './cli/dev-daemon-args.js';
import { startDaemon } from '../devdaemon/start.js';
import { daemonStatus, reloadDaemon, stopDaemon } from '../devdaemon/stop.js';
import { interruptSignal, runMain } from './cli/run-main.js';
import { defaultBundlesDir } from './paths.js';

const HELP = `Usage: npm run dev-daemon -- [start] [options] [dockerd flags…]
       npm run dev-daemon -- status | stop | reload [--state DIR]

Runs bundles/binary-daemon/dockerd with the bundled containerd, runc,
docker-init and docker-proxy, isolated under a state folder: its own data-root,
exec-root, pidfile, unix socket, containerd and bridge. After start it checks
that GET /info reports the bundle's runc, containerd and init commits.

Options:
  --rootless         run it without root: the bundle's dockerd-rootless.sh and
                     rootlesskit, as an unprivileged user (default state folder
                     bundles/dev-daemon-rootless; give it to status/stop/reload too)
  --user NAME        the rootless daemon's account (root only; default: the
                     caller, or mmk-rootless, created when root starts it)
  --no-install       change nothing on the machine (apt-get, users, subuids,
                     /dev/net/tun); print the commands instead
  --detach           run in the background (default: foreground, Ctrl-C stops it)
  --log-file FILE    send dockerd's log to FILE instead of this terminal
  --state DIR        state folder (default: bundles/dev-daemon, or $MOBY_DEV_DAEMON_STATE)
  --bundles DIR      bundles root (default: bundles/, or $MOBY_MAKE_BUNDLES)
  --stop-timeout S   seconds to wait for dockerd on stop before SIGKILL (default 30)
  --output MODE      plain (default) or json (an event per line)
  --help             this text

Commands:
  start    (default) start the daemon; any other flag goes to dockerd,
           e.g. --experimental --debug --storage-driver vfs --config-file F
  status   say whether it runs, where, and since when (exit 1 when it does not)
  stop     stop it and remove what it left (processes, mounts, bridge)
  reload   send SIGHUP so dockerd re-reads <state>/daemon.json

Listening on TCP: -H tcp://127.0.0.1:PORT; other addresses need --tlsverify.
Environment: DOCKER_EXPERIMENTAL=1 adds --experimental; DOCKER_MIN_API_VERSION
(default 1.24, as moby's integration daemon) lets older clients in.`;

async function main(): Promise<number> {
  const args = parseDevDaemonArgs(process.argv.slice(2));
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  const env = args.noInstall ? { ...process.env, MOBY_MAKE_NO_INSTALL: '1' } : process.env;
  const bundlesDir = args.bundlesDir ? resolve(args.bundlesDir) : defaultBundlesDir(env);
  const layout = stateLayout(args.stateDir ? resolve(args.stateDir) : defaultStateDir(bundlesDir, env, args.rootless));
  const stopTimeoutMs = (args.stopTimeout ?? 30) * 1000;
  const renderer = createRenderer(outputMode(args.output, env), { lines: devDaemonLines });
  const { onEvent } = renderer;
  const code = await run();
  await renderer.finished();
  return code;

  async function run(): Promise<number> {
    switch (args.command) {
      case 'status': {
        const state = await daemonStatus(layout);
        onEvent({ type: 'status', stateDir: layout.stateDir, ...state });
        return state.pid === undefined ? 1 : 0;
      }
      case 'reload':
        onEvent({ type: 'reloaded', pid: reloadDaemon(layout), configFile: layout.configFile });
        return 0;
      case 'stop': {
        // Like `systemctl stop`: stopping what is stopped succeeds, and still clears a crash's leftovers.
        const result = await stopDaemon(layout, env, stopTimeoutMs);
        onEvent(stoppedEvent(layout.stateDir, result, false));
        return 0;
      }
      case 'start': {
        const signal = interruptSignal();
        const logFile = args.logFile ? resolve(args.logFile) : undefined;
        const daemon = await startDaemon({
          bundlesDir,
          stateDir: layout.stateDir,
          dockerdArgs: args.dockerdArgs,
          ...(logFile ? { logFile } : {}),
          env,
          onEvent,
          signal,
          ...(args.rootless ? { rootless: args.user !== undefined ? { user: args.user } : {} } : {}),
        });
        const { record } = daemon;
        const clientDir = bundlePaths(bundlesDir, CLIENT_BUNDLE).current;
        onEvent({
          type: 'ready',
          pid: record.pid,
          seconds: record.readySeconds,
          dockerHost: record.dockerHost,
          logFile: record.logFile,
          detached: args.detach,
          logToTerminal: !logFile,
          ...(record.rootless ? { rootlessUser: record.rootless.user } : {}),
          ...(existsSync(join(clientDir, 'docker')) ? { clientDir } : {}),
        });
        if (args.detach) {
          daemon.child.unref();
          return 0;
        }
        return superviseForeground(daemon, { env, signal, stopTimeoutMs, followLog: !logFile, onEvent });
      }
      default:
        return unreachable(args.command);
    }
  }
}

await runMain(main);
