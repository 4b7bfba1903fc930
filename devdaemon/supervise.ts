import type { Env } from '../core/env.js';
import type { Listener } from '../core/events.js';
import { lastLines } from '../core/log-tail.js';
import { stoppedEvent, type DevDaemonEvent } from './events.js';
import { followFile } from './log.js';
import type { StartedDaemon } from './start.js';
import { stopDaemon } from './stop.js';

export interface SuperviseOptions {
  env: Env;
  /** Fires on Ctrl-C or SIGTERM. */
  signal: AbortSignal;
  stopTimeoutMs: number;
  /** Follow dockerd's log as events (it went to the default file, not one the user named). */
  followLog: boolean;
  onEvent: Listener<DevDaemonEvent>;
}

/**
 * The foreground dev daemon: follows dockerd's log until dockerd exits or the
 * user interrupts, then stops it and removes what it left. Resolves with the
 * command's exit code.
 */
export async function superviseForeground(daemon: StartedDaemon, options: SuperviseOptions): Promise<number> {
  const { record, layout } = daemon;
  const { onEvent, signal } = options;
  const follower = options.followLog ? followFile(record.logFile, (line) => onEvent({ type: 'log', line })) : undefined;
  const interrupted = new Promise<'interrupted'>((resolve) => {
    if (signal.aborted) resolve('interrupted');
    signal.addEventListener('abort', () => resolve('interrupted'), { once: true });
  });
  // A terminal's Ctrl-C reaches us twice under npm (directly and forwarded); the clean-up must not die of the second.
  const again = () => onEvent({ type: 'stop-pending' });
  signal.addEventListener('abort', () => {
    process.on('SIGINT', again);
    process.on('SIGTERM', again);
  });
  const outcome = await Promise.race([daemon.exited, interrupted]);
  if (outcome === 'interrupted') onEvent({ type: 'stopping' });
  const stopped = await stopDaemon(layout, options.env, options.stopTimeoutMs);
  follower?.stop();
  if (outcome === 'interrupted') {
    onEvent(stoppedEvent(layout.stateDir, stopped, true));
    return 0;
  }
  // When its log went to a file of the user's, the terminal has not seen how it ended.
  onEvent({ type: 'exited', status: outcome, logTail: options.followLog ? [] : await lastLines(record.logFile, 40) });
  return outcome === 0 ? 0 : 1;
}
