import { nextSteps } from './cli/commands.js';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { CLIENT_BUNDLE, bundlePaths } from '../core/bundle-layout.js';
import { DELVE, installGoTool } from '../core/go-tools.js';
import { UserError } from '../core/errors.js';
import { liveRestoreRequested } from '../devdaemon/restart.js';
import type { StartOptions } from '../devdaemon/start.js';
import { superviseWatch } from '../devdaemon/watch.js';
import { debugListenAddress } from '../core/loopback.js';
import { forwardDebugger } from '../core/debug-forward.js';
import { rootlessDebugSocket } from '../devdaemon/rootless/launch.js';
import { prepareDevLoop } from './lib/dev-loop.js';
import { makeLines, makeRows } from './render/make-lines.js';
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
import { defaultBundlesDir, defaultCacheDir } from './paths.js';

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
  --watch            build first, then rebuild on every edit of a local source
                     (DAEMON_SRC, CONTAINERD_SRC, RUNC_SRC, …) and restart dockerd
                     when a file it runs changed; a failed build keeps the daemon
  --debug-port ADDR  a debug build of dockerd (DOCKER_DEBUG, in bundles/debug/)
                     run under delve, its API on ADDR (loopback only; DELVE_PORT);
                     with --rootless, forwarded by this command (foreground only)
  --dynamic          with --watch/--debug-port: build dynamic binaries (faster links)
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

With --watch, dockerd's log goes to <state>/dockerd.log and each round of edits
prints one line: what changed, rebuild and restart seconds, the new GitCommit.
Containers survive a restart only with dockerd's --live-restore.

Listening on TCP: -H tcp://127.0.0.1:PORT; other addresses need --tlsverify.
Environment: DOCKER_EXPERIMENTAL=1 adds --experimental; DOCKER_MIN_API_VERSION
(default 1.24, as moby's integration daemon) lets older clients in.`;

async function main(): Promise<number> {
  const args = parseDevDaemonArgs(process.argv.slice(2));
  if (args.help) {
    console.log(HELP + nextSteps('dev-daemon'));
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
        const debugSpec = args.debugPort ?? env.DELVE_PORT;
        const debugListen = debugSpec ? debugListenAddress(debugSpec) : undefined;
        if (args.rootless && debugListen && args.detach) {
          throw new UserError(
            `a rootless dockerd under delve runs in the foreground: delve listens in rootlesskit's network namespace, and this command forwards ${debugListen} to it`,
            'Leave out --detach (Ctrl-C stops delve and the daemon).',
          );
        }
        const loop =
          args.watch || debugListen
            ? await prepareDevLoop({
                bundlesDir,
                env,
                debug: debugListen !== undefined,
                dynamic: args.dynamic || env.DOCKER_STATIC === '0',
                jobs: availableParallelism(),
                signal,
                renderer: createRenderer(outputMode(args.output, env), { lines: makeLines(), rows: makeRows() }),
              })
            : undefined;
        if (args.watch && loop?.trees.length === 0) {
          throw new UserError(
            '--watch has nothing to watch: no component is built from a local checkout',
            'Point one at yours, e.g. DAEMON_SRC=../moby npm run dev-daemon -- --watch (also CONTAINERD_SRC, RUNC_SRC, ROOTLESSKIT_SRC).',
          );
        }
        const dlv = debugListen ? await installGoTool(DELVE, join(defaultCacheDir(env), 'tools'), env, signal) : undefined;
        const startOptions: StartOptions = {
          bundlesDir: loop?.bundlesDir ?? bundlesDir,
          stateDir: layout.stateDir,
          dockerdArgs: args.dockerdArgs,
          ...(logFile ? { logFile } : {}),
          env,
          onEvent,
          signal,
          ...(args.rootless ? { rootless: args.user !== undefined ? { user: args.user } : {} } : {}),
          ...(dlv && debugListen ? { debugger: { dlv, listen: debugListen } } : {}),
        };
        // Listening before the start, so that a port in use fails before anything runs; it leads to the socket each start's delve makes.
        const forward = args.rootless && debugListen ? await forwardDebugger(debugListen, rootlessDebugSocket(layout)) : undefined;
        try {
          const daemon = await startDaemon(startOptions);
          const { record } = daemon;
          const clientDir = bundlePaths(bundlesDir, CLIENT_BUNDLE).current;
          onEvent({
            type: 'ready',
            pid: record.pid,
            seconds: record.readySeconds,
            dockerHost: record.dockerHost,
            logFile: record.logFile,
            detached: args.detach,
            logToTerminal: !logFile && !args.watch,
            ...(record.rootless ? { rootlessUser: record.rootless.user } : {}),
            ...(existsSync(join(clientDir, 'docker')) ? { clientDir } : {}),
            ...(debugListen ? { debugListen } : {}),
          });
          if (args.detach) {
            daemon.child.unref();
            return 0;
          }
          if (args.watch && loop) {
            return await superviseWatch(daemon, {
              trees: loop.trees,
              bundleDir: bundlePaths(loop.bundlesDir).current,
              rebuild: loop.rebuild,
              start: (previous) =>
                startDaemon({
                  ...startOptions,
                  // The rootless set-up check said its piece at the first start; a restart repeats it only when it fails (an error then).
                  onEvent: (event) => {
                    if (event.type !== 'rootless-check-failed' && event.type !== 'rootless-check-overridden') onEvent(event);
                  },
                  ...(previous?.bridge ? { bridge: previous.bridge } : {}),
                }),
              // A rootless daemon's containers end with rootlesskit's namespaces at each restart: there is nothing to keep.
              liveRestore: !args.rootless && liveRestoreRequested(args.dockerdArgs, layout),
              env,
              signal,
              stopTimeoutMs,
              onEvent,
            });
          }
          return await superviseForeground(daemon, { env, signal, stopTimeoutMs, followLog: !logFile, onEvent });
        } finally {
          await forward?.close();
        }
      }
      default:
        return unreachable(args.command);
    }
  }
}

await runMain(main);
