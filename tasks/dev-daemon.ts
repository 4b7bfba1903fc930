import { resolve } from 'node:path';
import { defaultStateDir, dockerHostOf, stateLayout } from '../devdaemon/layout.js';
import { followFile } from '../devdaemon/log.js';
import { lastLines } from '../core/log-tail.js';
import { parseDevDaemonArgs, type DevDaemonArgs } from './cli/dev-daemon-args.js';
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
  --detach           run in the background (default: foreground, Ctrl-C stops it)
  --log-file FILE    send dockerd's log to FILE instead of this terminal
  --state DIR        state folder (default: bundles/dev-daemon, or $MOBY_DEV_DAEMON_STATE)
  --bundles DIR      bundles root (default: bundles/, or $MOBY_MAKE_BUNDLES)
  --stop-timeout S   seconds to wait for dockerd on stop before SIGKILL (default 30)
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
  const env = process.env;
  const bundlesDir = args.bundlesDir ? resolve(args.bundlesDir) : defaultBundlesDir(env);
  const layout = stateLayout(args.stateDir ? resolve(args.stateDir) : defaultStateDir(bundlesDir, env));
  const stopTimeoutMs = (args.stopTimeout ?? 30) * 1000;
  switch (args.command) {
    case 'status':
      return status(layout);
    case 'reload': {
      const pid = reloadDaemon(layout);
      console.log(`sent SIGHUP to dockerd (pid ${pid}); it re-reads ${layout.configFile}`);
      return 0;
    }
    case 'stop': {
      const result = await stopDaemon(layout, env, stopTimeoutMs);
      const leftovers = result.leftoverProcesses.length + result.leftoverMounts.length;
      if (result.pid === undefined) {
        // Like `systemctl stop`: stopping what is stopped succeeds, and still clears a crash's leftovers.
        const cleared = `; ended ${result.leftoverProcesses.length} leftover process(es), unmounted ${result.leftoverMounts.length} mount(s)`;
        console.log(`no dev daemon was running from ${layout.stateDir}${leftovers ? cleared : ''}`);
        return 0;
      }
      console.log(`stopped dockerd (pid ${result.pid})${result.killed ? ' with SIGKILL after it ignored SIGTERM' : ''}`);
      return 0;
    }
    case 'start':
      return start(args, bundlesDir, layout.stateDir, stopTimeoutMs);
  }
}

async function status(layout: ReturnType<typeof stateLayout>): Promise<number> {
  const state = await daemonStatus(layout);
  if (state.pid === undefined) {
    console.log(`not running (state folder ${layout.stateDir})`);
    return 1;
  }
  console.log(`running: pid ${state.pid}, ${state.responding ? 'API answers' : 'API does not answer yet'}`);
  console.log(`DOCKER_HOST=${state.dockerHost}`);
  if (state.record) {
    console.log(
      `since ${state.record.startedAt}; bundle ${state.record.bundleDir}; bridge ${state.record.bridge} (${state.record.subnet}); log ${state.record.logFile}`,
    );
  }
  return 0;
}

async function start(args: DevDaemonArgs, bundlesDir: string, stateDir: string, stopTimeoutMs: number): Promise<number> {
  const env = process.env;
  const signal = interruptSignal();
  const say = (line: string) => console.log(line);
  const daemon = await startDaemon({
    bundlesDir,
    stateDir,
    dockerdArgs: args.dockerdArgs,
    ...(args.logFile ? { logFile: resolve(args.logFile) } : {}),
    env,
    say,
    signal,
  });
  const { record, layout } = daemon;
  console.log(`dockerd (pid ${record.pid}) is ready in ${record.readySeconds.toFixed(2)} s, running the bundle's runc, containerd and docker-init`);
  console.log(`DOCKER_HOST=${dockerHostOf(layout)}`);
  if (args.detach) {
    daemon.child.unref();
    console.log(`running in the background; log: ${record.logFile}; stop it with: npm run dev-daemon -- stop`);
    return 0;
  }
  const follower = args.logFile ? undefined : followFile(record.logFile, (line) => console.log(`dockerd | ${line}`));
  if (args.logFile) console.log(`log: ${record.logFile}`);
  const interrupted = new Promise<'interrupted'>((resolve) => signal.addEventListener('abort', () => resolve('interrupted'), { once: true }));
  // A terminal's Ctrl-C reaches us twice under npm (directly and forwarded); the clean-up must not die of the second.
  const again = () => console.log('already stopping dockerd; the wait is bounded');
  signal.addEventListener('abort', () => {
    process.on('SIGINT', again);
    process.on('SIGTERM', again);
  });
  const outcome = await Promise.race([daemon.exited, interrupted]);
  if (outcome === 'interrupted') console.log('stopping dockerd…');
  const stopped = await stopDaemon(layout, env, stopTimeoutMs);
  follower?.stop();
  if (outcome === 'interrupted') {
    console.log(`stopped${stopped.killed ? ' (SIGKILL after the wait)' : ''}`);
    return 0;
  }
  console.error(`dockerd exited by itself (${typeof outcome === 'number' ? `exit code ${outcome}` : outcome})`);
  // Its log went to a file, not this terminal: show how it ended.
  if (args.logFile) console.error((await lastLines(record.logFile, 40)).join('\n'));
  return outcome === 0 ? 0 : 1;
}

await runMain(main);
