import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { componentContext, componentsInBundles, loadComponents } from '../../builder/components.js';
import { make } from '../../builder/make.js';
import { CLIENT_BUNDLE, DAEMON_BUNDLE } from '../../core/bundle-layout.js';
import type { Env } from '../../core/env.js';
import { UserError } from '../../core/errors.js';
import { defaultStateDir, stateLayout } from '../../devdaemon/layout.js';
import { startDaemon } from '../../devdaemon/start.js';
import { daemonStatus } from '../../devdaemon/stop.js';
import { devDaemonLines } from '../render/dev-daemon-lines.js';
import { makeLines } from '../render/make-lines.js';
import { plainRenderer, type LineWriter } from '../render/plain.js';
import { defaultCacheDir, projectRoot } from '../paths.js';

/** A dev daemon the shell started because there was no engine: it stays for the next shell. */
export interface StartedEngine {
  pid: number;
  dockerHost: string;
  seconds: number;
  logFile: string;
}

/** Everything goes to stderr: the shell's stdout is the command's own. */
const toStderr: LineWriter = (line) => console.error(line);

/**
 * The engine `npm run shell` runs the dev image on: DOCKER_HOST when set, else
 * the dev daemon — started here, detached, when it is not running, after
 * building the bundles it and the docker CLI need (a no-op when they are up to
 * date). moby's `make shell` needs nothing before it; neither does this.
 */
export async function shellEngine(bundlesDir: string, env: Env, signal: AbortSignal): Promise<{ dockerHost: string; started?: StartedEngine }> {
  if (env.DOCKER_HOST) return { dockerHost: env.DOCKER_HOST };
  const layout = stateLayout(defaultStateDir(bundlesDir, env));
  const status = await daemonStatus(layout);
  if (status.pid !== undefined) {
    if (status.responding) return { dockerHost: status.dockerHost };
    throw new UserError(
      `the dev daemon (pid ${status.pid}) runs but does not answer on ${layout.socket}`,
      `Look at ${layout.logFile}, or start it again: npm run dev-daemon -- stop, then npm run shell.`,
    );
  }
  await buildEngineBundles(bundlesDir, env, signal);
  const daemon = await startDaemon({
    bundlesDir,
    stateDir: layout.stateDir,
    dockerdArgs: [],
    env,
    onEvent: plainRenderer(devDaemonLines, toStderr).onEvent,
    signal,
  });
  daemon.child.unref();
  const { record } = daemon;
  return { dockerHost: record.dockerHost, started: { pid: record.pid, dockerHost: record.dockerHost, seconds: record.readySeconds, logFile: record.logFile } };
}

/** The daemon bundle and the client bundle; integration-cli's docker CLI is not needed for a shell. */
async function buildEngineBundles(bundlesDir: string, env: Env, signal: AbortSignal): Promise<void> {
  const componentsDir = join(projectRoot, 'components');
  const specs = await loadComponents(componentsDir, componentContext(env, false));
  const needed = componentsInBundles(specs, [DAEMON_BUNDLE, CLIENT_BUNDLE]);
  const result = await make({
    componentsDir,
    bundlesDir,
    cacheDir: defaultCacheDir(env),
    dynamic: false,
    jobs: availableParallelism(),
    env,
    only: needed,
    signal,
    onEvent: plainRenderer(makeLines(), toStderr).onEvent,
  });
  if (result.failed.length > 0) {
    throw new UserError(
      `the dev daemon's bundle did not build: ${result.failed.join(', ')} failed; see the errors above`,
      'Fix the build (npm run make), then npm run shell again.',
    );
  }
}
