import { closeSync, openSync, readSync, statSync } from 'node:fs';

/*
 * dockerd always writes to a file, never to a pipe of ours: a Go program dies
 * of SIGPIPE when its stdout reader goes away, and the daemon must outlive a
 * supervisor that is killed. Showing the log live means following that file.
 */

export interface Follower {
  /** Prints what is left and stops following. */
  stop(): void;
}

/** Calls onLine for each complete line the file gains, starting at `offset`. */
export function followFile(file: string, onLine: (line: string) => void, offset = 0, intervalMs = 100): Follower {
  let position = offset;
  let partial = '';
  const buffer = Buffer.alloc(64 * 1024);
  const drain = (flush: boolean) => {
    let fd: number;
    try {
      if (statSync(file).size < position) position = 0; // truncated by a new start
      fd = openSync(file, 'r');
    } catch {
      return;
    }
    try {
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, position);
        if (read === 0) break;
        position += read;
        partial += buffer.subarray(0, read).toString('utf8');
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      }
    } finally {
      closeSync(fd);
    }
    if (flush && partial) {
      onLine(partial);
      partial = '';
    }
  };
  drain(false);
  const timer = setInterval(() => drain(false), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      drain(true);
    },
  };
}
