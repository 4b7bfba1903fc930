import { InterruptedError, UserError } from '../core/errors.js';
import type { Env } from '../core/env.js';
import type { Listener } from '../core/events.js';
import type { PackageResult, TestRunEvent } from './events.js';
import { parseEventLine } from './inside.js';
import { runInNamespace, type NamespacePlan } from './namespace.js';

/** How long the inside gets after SIGTERM to stop its daemon before the namespace is killed outright. */
const STOP_GRACE_MS = 60_000;

/** What the outside answers on the inside's standard input after daemon-ready. */
export const GO = 'go';
export const STOP = 'stop';

export interface InsideOutcome {
  results: PackageResult[];
  exitCode: number;
}

/**
 * Runs the inside command in fresh namespaces, forwarding its events and
 * keeping the package results (so a crash midway still has a summary). An
 * interrupt stops the inside in order; anything it could not stop dies with
 * its PID namespace.
 */
export async function runInside(
  plan: NamespacePlan,
  command: readonly string[],
  env: Env,
  onEvent: Listener<TestRunEvent>,
  signal: AbortSignal,
  prepareDaemon: (socket: string) => Promise<void> = () => Promise.resolve(),
): Promise<InsideOutcome> {
  const results: PackageResult[] = [];
  const errors: string[] = [];
  let preparing: Promise<void> | undefined;
  let prepareError: Error | undefined;
  const inside = runInNamespace(
    plan,
    command,
    env,
    (line) => {
      const event = parseEventLine(line);
      if (!event) return onEvent({ type: 'step', text: line });
      if (event.type === 'package-finished') results.push(event.result);
      onEvent(event);
      // The daemon's socket is a file under the bundles folder: reachable from out here, where the network is.
      if (event.type === 'daemon-ready') {
        preparing = prepareDaemon(event.socket).then(
          () => inside.tell(GO),
          (error: unknown) => {
            prepareError = error instanceof Error ? error : new Error(String(error));
            inside.tell(STOP);
          },
        );
      }
    },
    (line) => {
      errors.push(line);
      if (errors.length > 40) errors.shift();
    },
  );
  const stop = () => void inside.stop(STOP_GRACE_MS);
  signal.addEventListener('abort', stop, { once: true });
  const exitCode = await inside.exited;
  await preparing;
  signal.removeEventListener('abort', stop);
  // An interrupt during the daemon's preparation is the interrupt, not a failed preparation.
  if (signal.aborted)
    throw new InterruptedError('The test daemon, its namespaces and every process in them are gone; results so far are in the results folder.');
  if (prepareError !== undefined) throw prepareError;
  // The inside reports its own errors on stderr as `error: ...` (runMain); a non-test failure there ends the run.
  if (exitCode !== 0 && exitCode !== 1) throw new UserError(`the test run inside its namespaces failed (exit ${exitCode}):\n${errors.join('\n')}`);
  if (exitCode === 1 && results.length === 0) throw new UserError(`the test run inside its namespaces failed:\n${errors.join('\n')}`);
  return { results, exitCode };
}
