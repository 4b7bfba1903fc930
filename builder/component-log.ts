import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';

/**
 * A component's build log. A run writes beside the last build's log and
 * replaces it only when it builds or fails: an up-to-date component keeps the
 * compiler output of the build that made it.
 */
export class ComponentLog extends Writable {
  private readonly pending: string;
  private readonly stream: WriteStream;
  private kept = false;
  private closing: Promise<void> | undefined;

  constructor(readonly file: string) {
    super();
    this.pending = `${file}.partial`;
    this.stream = createWriteStream(this.pending);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.stream.write(chunk, callback);
  }

  /** Runs once every buffered write has reached the file. */
  override _final(callback: (error?: Error | null) => void): void {
    this.stream.end(() => callback());
  }

  /** This run's log replaces the last one when closed. */
  keep(): void {
    this.kept = true;
  }

  /** Flushes, and either publishes this run's log or throws it away. Safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => this.end(resolve)).then(async () => {
      if (this.kept && existsSync(this.pending)) await rename(this.pending, this.file);
      else await rm(this.pending, { force: true });
    });
    return this.closing;
  }
}

export function openComponentLog(logsDir: string, component: string): ComponentLog {
  return new ComponentLog(join(logsDir, `${component}.log`));
}
