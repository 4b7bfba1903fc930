import { Worker } from 'node:worker_threads';
import { DigestMismatchError } from './registry.js';

/**
 * Go cache objects cut from a pack, each checked against its OutputID and
 * written into GOCACHE, on a thread of their own. On the main thread the
 * hashing and the writes of a pack took turns with receiving the next one
 * and with answering go, which waits on its gets; here they use the other
 * core. Each object is answered as soon as it is written, not with its pack.
 *
 * The worker's code is CommonJS given as text, as core/hash-pool.ts's is.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash, randomBytes } = require('node:crypto');
const { existsSync, mkdirSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { dirname } = require('node:path');
const folders = new Set();
parentPort.on('message', ({ pack, body, members }) => {
  const bytes = Buffer.from(body);
  for (const { output, offset, size, file } of members) {
    try {
      const object = bytes.subarray(offset, offset + size);
      const digest = createHash('sha256').update(object).digest('hex');
      if (digest !== output) {
        parentPort.postMessage({ pack, output, corrupt: 'sha256:' + digest + ' at ' + offset + ' in pack sha256:' + pack });
        continue;
      }
      if (!(existsSync(file) && statSync(file).size === size)) {
        const folder = dirname(file);
        if (!folders.has(folder)) mkdirSync(folder, { recursive: true });
        folders.add(folder);
        // A private name first, renamed over the object once whole: go never reads half an object.
        const partial = file + '.' + randomBytes(6).toString('hex') + '.partial';
        writeFileSync(partial, object);
        renameSync(partial, file);
      }
      parentPort.postMessage({ pack, output });
    } catch (error) {
      parentPort.postMessage({ pack, output, error: String(error && error.message) });
    }
  }
});
`;

export interface PackMember {
  /** The OutputID: sha256 hex of the object. */
  output: string;
  offset: number;
  size: number;
  /** Where it goes: GOCACHE's `<id>-d`. */
  file: string;
}

type Reply = { pack: string; output: string } | { pack: string; output: string; corrupt: string } | { pack: string; output: string; error: string };

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class ObjectWriter {
  private worker: Worker | undefined;
  /** By pack and output: the same object may be in two packs of an old map. */
  private readonly waiting = new Map<string, Waiter>();

  /**
   * Each member of the pack, written: a promise per output that rejects with
   * DigestMismatchError when the object's bytes are not its OutputID. The
   * pack's bytes are handed over to the thread, not copied.
   */
  write(pack: string, body: Buffer, members: readonly PackMember[]): Map<string, Promise<void>> {
    const written = new Map<string, Promise<void>>();
    for (const member of members) {
      const promise = new Promise<void>((resolve, reject) => this.waiting.set(`${pack} ${member.output}`, { resolve, reject }));
      promise.catch(() => undefined); // the prefetch writes objects no get may ask for: their failures are nobody's
      written.set(member.output, promise);
    }
    const owned = body.byteOffset === 0 && body.buffer.byteLength === body.length ? body : Buffer.from(body);
    const worker = this.thread();
    worker.ref(); // objects in flight keep the process alive until they are answered
    worker.postMessage({ pack, body: owned.buffer, members }, [owned.buffer as ArrayBuffer]);
    return written;
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (reply: Reply) => {
      const key = `${reply.pack} ${reply.output}`;
      const waiter = this.waiting.get(key);
      this.waiting.delete(key);
      if (this.waiting.size === 0) worker.unref();
      if (!waiter) return;
      if ('corrupt' in reply) waiter.reject(new DigestMismatchError(`sha256:${reply.output}`, reply.corrupt));
      else if ('error' in reply) waiter.reject(new Error(`writing ${reply.output}: ${reply.error}`));
      else waiter.resolve();
    });
    // A thread that dies fails what it was writing; the gets that wanted those objects say so and go compiles.
    worker.on('error', (error) => {
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
      this.worker = undefined;
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }
}
