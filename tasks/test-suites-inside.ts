/**
 * The part of `npm run test-integration` / `npm run test-unit` that runs
 * inside the private namespaces (see testrunner/namespace.ts): it starts the
 * test daemon when there is one, runs the prepared packages and stops the
 * daemon again, reporting everything as JSON event lines on stdout. Not a
 * command of its own: the outside starts it with its configuration file.
 */
import { formatLines } from '../core/events.js';
import { layOutDevContainer } from '../testrunner/dev-container/layout.js';
import { startDaemon } from '../devdaemon/start.js';
import { stopDaemon } from '../devdaemon/stop.js';
import type { TestRunEvent } from '../testrunner/events.js';
import { GO } from '../testrunner/host.js';
import { eventLine, readInsideConfig, runPackages } from '../testrunner/inside.js';
import { createInterface } from 'node:readline';
import { UserError } from '../core/errors.js';
import { run } from '../core/process.js';
import { interruptSignal, runMain } from './cli/run-main.js';
import { devDaemonLines } from './render/dev-daemon-lines.js';

async function main(): Promise<number> {
  const configFile = process.argv[2];
  if (!configFile) throw new Error('usage: test-suites-inside.ts CONFIG.json (started by npm run test-integration / test-unit)');
  const config = await readInsideConfig(configFile);
  const env = process.env;
  const signal = interruptSignal();
  const emit = (event: TestRunEvent) => void process.stdout.write(`${eventLine(event)}\n`);

  if (config.devContainer) await layOutDevContainer(config.devContainer, (text) => emit({ type: 'step', text: `dev container: ${text}` }));
  for (const sysctl of config.daemon?.sysctls ?? []) await mustRun(['sysctl', '-w', sysctl], `sysctl -w ${sysctl}`);
  const rootlessUser = config.daemon?.rootlessUser;
  // moby's start script: the unprivileged daemons tests start keep their data under DEST.
  if (rootlessUser && config.testEnv.DEST) await mustRun(['chmod', '-R', 'o+w', config.testEnv.DEST], `chmod -R o+w ${config.testEnv.DEST}`);
  const daemon = config.daemon
    ? await startDaemon({
        bundlesDir: config.bundlesDir,
        stateDir: config.daemon.stateDir,
        dockerdArgs: config.daemon.dockerdArgs,
        logFile: config.daemon.logFile,
        env,
        onEvent: (event) => {
          for (const line of formatLines(devDaemonLines, event)) emit({ type: 'step', text: typeof line === 'string' ? line : line.stderr });
        },
        signal,
        defaultBridge: true,
        // Inside, apt would write the host's dpkg database under the namespace's /usr: the dev container brings what rootless needs.
        ...(rootlessUser ? { rootless: { user: rootlessUser }, env: { ...env, MOBY_MAKE_NO_INSTALL: '1' } } : {}),
      })
    : undefined;
  try {
    if (daemon) {
      emit({ type: 'daemon-ready', socket: daemon.layout.socket, seconds: daemon.record.readySeconds, logFile: daemon.record.logFile });
      if ((await firstLine(process.stdin)) !== GO) return 1; // the outside could not prepare it and says why
    }
    const results = await runPackages(config, emit, signal);
    return results.every((result) => result.exitCode === 0) && !signal.aborted ? 0 : 1;
  } finally {
    if (daemon) {
      emit({ type: 'step', text: 'stopping the test daemon' });
      await stopDaemon(daemon.layout, env);
    }
  }
}

async function mustRun(argv: string[], what: string): Promise<void> {
  const result = await run(argv);
  if (result.exitCode !== 0) throw new UserError(`${what}: ${result.stderr.trim()}`);
}

function firstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    const lines = createInterface({ input });
    lines.once('line', (line) => {
      resolve(line.trim()); // before close(), which emits 'close' at once
      lines.close();
    });
    lines.once('close', () => resolve(undefined));
  });
}

await runMain(main);
