import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * Hashing runs on worker threads, so that MD5 and SHA-256 of one file, or the
 * files of a bundle, use every core at once instead of taking turns on the
 * main thread (MD5 of dockerd alone is ~0.17 s here, its SHA-256 ~0.09 s).
 * The workers stay for the life of the process without keeping it alive.
 *
 * The worker's code is CommonJS, as code given to a worker as text is: it
 * reads the file once and feeds every algorithm asked for.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { closeSync, openSync, readSync } = require('node:fs');
const buffer = Buffer.allocUnsafe(1 << 20);
parentPort.on('message', ({ path, algorithms }) => {
  let fd;
  try {
    const hashes = algorithms.map((algorithm) => createHash(algorithm));
    fd = openSync(path, 'r');
    for (let read; (read = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) {
      const chunk = buffer.subarray(0, read);
      for (const hash of hashes) hash.update(chunk);
    }
    parentPort.postMessage({ digests: hashes.map((hash) => hash.digest('hex')) });
  } catch (error) {
    parentPort.postMessage({ error: { message: String(error && error.message), code: error && error.code } });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
});
`;

interface Job {
  path: string;
  algorithms: readonly string[];
  resolve: (digests: string[]) => void;
  reject: (error: Error) => void;
}

type Reply = { digests: string[] } | { error: { message: string; code?: string } };

class HashPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];

  constructor(private readonly size: number) {}

  /** Hex digests of the file, one per algorithm, in order; rejects as reading it would (e.g. code ENOENT). */
  hash(path: string, algorithms: readonly string[]): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ path, algorithms, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (;;) {
      const job = this.queue[0];
      const worker = job && (this.idle.pop() ?? (this.busy.size < this.size ? this.spawn() : undefined));
      if (!job || !worker) return;
      this.queue.shift();
      this.busy.set(worker, job);
      worker.ref(); // a job in flight keeps the process alive until its answer
      worker.postMessage({ path: job.path, algorithms: job.algorithms });
    }
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (reply: Reply) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      worker.unref();
      this.idle.push(worker);
      if (job && 'digests' in reply) job.resolve(reply.digests);
      else if (job && 'error' in reply) job.reject(Object.assign(new Error(reply.error.message), reply.error.code ? { code: reply.error.code } : {}));
      this.dispatch();
    });
    // A worker that dies takes only its own job with it; the next job gets a new worker.
    worker.on('error', (error) => {
      this.busy.get(worker)?.reject(error);
      this.busy.delete(worker);
      this.dispatch();
    });
    return worker;
  }
}

let pool: HashPool | undefined;

export function hashInWorker(path: string, algorithms: readonly string[]): Promise<string[]> {
  pool ??= new HashPool(Math.max(1, availableParallelism()));
  return pool.hash(path, algorithms);
}
