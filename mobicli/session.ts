import { spawnSync } from 'node:child_process';
import type { WriteStream } from 'node:tty';
import type Docker from 'dockerode';

export interface SessionOptions {
  /** Forward this process's stdin into the container (-i). */
  stdin: boolean;
  /** The container has a terminal (-t): its output is one raw stream, not stdout/stderr frames. */
  tty: boolean;
}

export interface TerminalSize {
  h: number;
  w: number;
}

export interface Session {
  /** Resolves when the daemon closes the stream, i.e. every byte of output has been written here. */
  ended: Promise<void>;
  /** Sends our terminal's size now and again on every change (SIGWINCH), as the docker CLI does. */
  forwardResize(resize: (size: TerminalSize) => Promise<unknown>): void;
  /** Restores the terminal and lets go of stdin. */
  close(): void;
}

/**
 * Joins a hijacked attach or exec stream to this process's stdio. With -it on a
 * terminal, the terminal goes raw so every key (Ctrl-C, Ctrl-D, arrows) reaches
 * the container's terminal, whose line discipline does what a local one would.
 */
export function attachStdio(docker: Docker, stream: NodeJS.ReadWriteStream, options: SessionOptions): Session {
  const raw = options.tty && options.stdin && process.stdin.isTTY;
  if (raw) {
    process.stdin.setRawMode(true);
    // libuv's raw mode keeps output processing (\n -> \r\n); the container's terminal already did that, so
    // as the docker CLI we turn it off. setRawMode(false) restores the terminal as it was before either.
    spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
  }

  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', reject);
  });
  if (options.tty) stream.on('data', (chunk: Buffer) => process.stdout.write(chunk));
  else docker.modem.demuxStream(stream, process.stdout, process.stderr);

  const forward = (chunk: Buffer) => stream.write(chunk);
  // EOF here closes the container's stdin (StdinOnce), so `echo x | mobicli run -i IMAGE cat` ends.
  const endInput = () => stream.end();
  if (options.stdin) {
    process.stdin.on('data', forward);
    process.stdin.once('end', endInput);
  }

  let terminal: WriteStream | undefined;
  let sendSize: (() => void) | undefined;
  return {
    ended,
    forwardResize(resize) {
      terminal = [process.stdout, process.stderr].find((s) => s.isTTY);
      if (!options.tty || !terminal) return;
      const current = terminal;
      // One resize at a time, then the size as it is by then, as the docker CLI's loop over SIGWINCH does: two
      // requests in flight may be applied out of order (`stty rows 40 cols 100` is two changes), leaving the older size.
      let sending = false;
      let changedMeanwhile = false;
      const send = () => {
        if (sending) {
          changedMeanwhile = true;
          return;
        }
        const [w, h] = current.getWindowSize();
        // A terminal with no size (a pty nobody sized) has nothing to forward.
        if (!(w > 0 && h > 0)) return;
        sending = true;
        // A resize that races the container's exit fails harmlessly; the exit code is what matters then.
        void resize({ h, w })
          .catch(() => undefined)
          .finally(() => {
            sending = false;
            if (changedMeanwhile) {
              changedMeanwhile = false;
              send();
            }
          });
      };
      sendSize = send;
      sendSize();
      current.on('resize', sendSize);
    },
    close() {
      if (terminal && sendSize) terminal.off('resize', sendSize);
      process.stdin.off('data', forward);
      process.stdin.off('end', endInput);
      if (raw) process.stdin.setRawMode(false);
      process.stdin.pause();
    },
  };
}
