import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import { UserError } from '../core/errors.js';
import type { Env } from '../core/env.js';

export interface Daemon {
  docker: Docker;
  /** The address as the user would write DOCKER_HOST, for messages. */
  where: string;
}

/**
 * $DOCKER_HOST as the docker CLI reads it (dockerode does), else the dev
 * daemon's socket, which the command passes in (mobicli does not import the
 * dev daemon). dockerode is loaded on first use: --help and usage errors
 * never need it, and loading it is a third of mobicli's start-up.
 */
export function connect(env: Env, devDaemonSocket: string): Daemon {
  const socketPath = env.DOCKER_HOST ? undefined : devDaemonSocket;
  let docker: Docker | undefined;
  return {
    get docker() {
      if (!docker) {
        const Dockerode = createRequire(import.meta.url)('dockerode') as typeof Docker;
        docker = socketPath ? new Dockerode({ socketPath }) : new Dockerode();
      }
      return docker;
    },
    where: socketPath ? `unix://${socketPath}` : env.DOCKER_HOST!,
  };
}

interface DaemonFailure {
  code?: string;
  statusCode?: number;
  json?: { message?: string } | null;
}

/** What a 404 was missing, given the daemon's message; undefined leaves the daemon's message as it is. */
export type NotFound = (daemonMessage: string) => { what: string; fix?: string } | undefined;

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EACCES', 'EPIPE']);

/**
 * Every failure is one line: what happened, where, and for a dead daemon how
 * to start one. `notFound` words a 404 for what the command was looking for;
 * it gets the daemon's own message, as one request can miss different things
 * (run: an image or a network).
 */
export function explain(error: unknown, daemon: Daemon, notFound?: NotFound): UserError {
  if (error instanceof UserError) return error;
  const failure = error as DaemonFailure;
  if (failure.code && UNREACHABLE.has(failure.code)) {
    return new UserError(`cannot reach a Docker daemon at ${daemon.where} (${failure.code}); start one with: npm run dev-daemon -- --detach`);
  }
  const message = failure.json?.message ?? (error instanceof Error ? error.message : String(error));
  const firstLine = message.split('\n')[0] ?? message;
  if (failure.statusCode === 404) {
    const missing = notFound?.(firstLine);
    if (missing) return new UserError(`${missing.what} on the daemon at ${daemon.where}${missing.fix ? `; ${missing.fix}` : ''}`);
  }
  return new UserError(firstLine);
}

/** Runs one request and turns its failure into a one-line UserError. */
export async function request<T>(daemon: Daemon, call: () => Promise<T>, notFound?: NotFound): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explain(error, daemon, notFound);
  }
}
