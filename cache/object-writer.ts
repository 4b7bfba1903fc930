import { Worker } from 'node:worker_threads';
import { TransportError } from './http.js';
import { DigestMismatchError, type BlobRequest } from './registry.js';

/**
 * Go cache packs downloaded and cut into their objects, each checked
 * against its OutputID and written into GOCACHE, on threads of their own.
 * The main thread answers go, one get at a time per build job: receiving a
 * gigabyte of TLS there, and hashing and writing it, put every answer in
 * a queue behind them. Each object is answered as soon as it is written,
 * not with its pack. The entries of the actions that name the objects
 * follow in the gaps between packs: go waits for objects, and a fresh
 * machine creates thousands of entry files (on a filesystem that has just
 * freed many inodes, a create can cost most of a millisecond).
 *
 * The threads run below the process's priority: while go has work of its
 * own (loading packages, checking its thousands of actions), go goes first,
 * and the packs use what go leaves. On Linux a nice value is a thread's
 * own, so the main thread keeps its priority.
 *
 * A pack's memory stays with its thread and is used for a later pack: new
 * memory for each (mapped, faulted in, collected) cost a fresh machine more
 * than the copy into memory it already has.
 *
 * The worker's code is CommonJS given as text, as core/hash-pool.ts's is.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash, randomBytes } = require('node:crypto');
const { existsSync, mkdirSync, renameSync, statSync, writeFileSync } = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const { setPriority } = require('node:os');
const { dirname } = require('node:path');
const { createSecureContext } = require('node:tls');
try { setPriority(10); } catch {}

const folders = new Set();
const folderOf = (file) => {
  const folder = dirname(file);
  if (!folders.has(folder)) mkdirSync(folder, { recursive: true });
  folders.add(folder);
};

const spare = [];
const bufferFor = (size) => {
  const at = spare.findIndex((memory) => memory.byteLength >= size);
  return Buffer.from(at >= 0 ? spare.splice(at, 1)[0] : new ArrayBuffer(size), 0, size);
};

let tlsOptions;
const download = (request, size) =>
  new Promise((resolve, reject) => {
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    if (secure && !tlsOptions) tlsOptions = { agent: new https.Agent({ keepAlive: true }), secureContext: createSecureContext({ ca: request.ca }) };
    const req = (secure ? https : http).request(url, { method: 'GET', headers: request.headers, ...(secure ? tlsOptions : {}) });
    const idle = 'no bytes for ' + request.timeoutMs / 1000 + 's';
    req.setTimeout(request.timeoutMs, () => req.destroy(new Error(idle)));
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve(undefined);
        return;
      }
      res.setTimeout(request.timeoutMs, () => res.destroy(new Error(idle)));
      const body = bufferFor(size);
      let filled = 0;
      res.on('data', (chunk) => {
        if (filled + chunk.length > size) return res.destroy(new Error('the answer is larger than ' + size + ' bytes'));
        chunk.copy(body, filled);
        filled += chunk.length;
      });
      res.on('aborted', () => reject(new Error('the connection closed mid-answer')));
      res.on('error', reject);
      res.on('end', () => (filled === size ? resolve(body) : reject(new Error('the answer ended after ' + filled + ' of ' + size + ' bytes'))));
    });
    req.end();
  });

const cut = (pack, bytes, members) => {
  for (const { output, offset, size, file, entries: its } of members) {
    try {
      const object = bytes.subarray(offset, offset + size);
      const digest = createHash('sha256').update(object).digest('hex');
      if (digest !== output) {
        parentPort.postMessage({ pack, output, corrupt: 'sha256:' + digest + ' at ' + offset + ' in pack sha256:' + pack });
        continue;
      }
      if (!(existsSync(file) && statSync(file).size === size)) {
        folderOf(file);
        // A private name first, renamed over the object once whole: go never reads half an object.
        const partial = file + '.' + randomBytes(6).toString('hex') + '.partial';
        writeFileSync(partial, object);
        renameSync(partial, file);
      }
      entries.push(...its);
      parentPort.postMessage({ pack, output });
    } catch (error) {
      parentPort.postMessage({ pack, output, error: String(error && error.message) });
    }
  }
  spare.push(bytes.buffer);
  parentPort.postMessage({ pack, cut: true });
  if (!draining && entries.length > 0) {
    draining = true;
    setImmediate(drain);
  }
};

const entries = [];
let entryError;
let draining = false;
const ENTRIES_AT_ONCE = 64;
const drain = () => {
  for (const entry of entries.splice(0, ENTRIES_AT_ONCE)) {
    try {
      folderOf(entry.file);
      writeFileSync(entry.file, entry.line);
    } catch (error) {
      entryError ??= String(error && error.message);
    }
  }
  draining = entries.length > 0;
  if (draining) setImmediate(drain);
};

parentPort.on('message', (message) => {
  if (message.flush) {
    while (entries.length > 0) drain();
    parentPort.postMessage({ flushed: true, entryError });
    entryError = undefined;
  } else if (message.request) {
    const { pack, size, request, members } = message;
    download(request, size).then(
      (body) => {
        parentPort.postMessage({ pack, arrived: body !== undefined });
        if (body) cut(pack, body, members);
      },
      (error) => parentPort.postMessage({ pack, failed: String(error && error.message) }),
    );
  } else {
    cut(message.pack, Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength), message.members);
  }
});
`;

/** A GOCACHE entry file and its one line. */
export interface EntryFile {
  file: string;
  line: string;
}

export interface PackMember {
  /** The OutputID: sha256 hex of the object. */
  output: string;
  offset: number;
  size: number;
  /** Where it goes: GOCACHE's `<id>-d`. */
  file: string;
  /** The entries of the actions whose output it is, written after it. */
  entries: readonly EntryFile[];
}

type Reply =
  | { pack: string; output: string }
  | { pack: string; output: string; corrupt: string }
  | { pack: string; output: string; error: string }
  | { pack: string; arrived: boolean }
  | { pack: string; failed: string }
  | { pack: string; cut: true }
  | { flushed: true; entryError?: string };

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** One writer thread, the packs it has in hand, and its pending flush. */
interface Thread {
  worker: Worker;
  packs: number;
  flushed?: (entryError: string | undefined) => void;
}

export class ObjectWriter {
  private readonly threads: Thread[] = [];
  /** The thread each pack in hand went to. */
  private readonly packThreads = new Map<string, Thread>();
  /** By pack and output: the same object may be in two packs of an old map. */
  private readonly waiting = new Map<string, Waiter>();
  /** Downloads on the threads, by pack: whether the registry answered with the pack itself. */
  private readonly downloads = new Map<string, { resolve: (arrived: boolean) => void; reject: (error: Error) => void }>();

  /**
   * At most `threadCount` threads, each taking the next pack while it has
   * none in hand: one thread receiving, hashing and writing a gigabyte was
   * slower than the registry on the other core.
   */
  constructor(private readonly threadCount = 1) {}

  /**
   * A promise per member of the pack, resolved once it is written; it
   * rejects with DigestMismatchError when the object's bytes are not its
   * OutputID, and with the download's error when the pack never came.
   */
  expect(pack: string, members: readonly PackMember[]): Map<string, Promise<void>> {
    const written = new Map<string, Promise<void>>();
    for (const member of members) {
      const promise = new Promise<void>((resolve, reject) => this.waiting.set(`${pack} ${member.output}`, { resolve, reject }));
      promise.catch(() => undefined); // the prefetch writes objects no get may ask for: their failures are nobody's
      written.set(member.output, promise);
    }
    return written;
  }

  /**
   * The pack downloaded by a thread and written there: true once it has
   * arrived, false when the registry answered otherwise (the caller fetches
   * it its own way and hands it to `write`).
   */
  download(pack: string, size: number, request: BlobRequest, members: readonly PackMember[]): Promise<boolean> {
    const arrived = new Promise<boolean>((resolve, reject) => this.downloads.set(pack, { resolve, reject }));
    this.send(pack, { pack, size, request, members });
    return arrived;
  }

  /** The pack's bytes, fetched by the caller, written by a thread (copied to it). */
  write(pack: string, body: Buffer, members: readonly PackMember[]): void {
    this.send(pack, { pack, body, members });
  }

  /** The pack will not come: what `expect` promised of it fails with `error`. */
  abandon(pack: string, error: Error): void {
    for (const [key, waiter] of this.waiting)
      if (key.startsWith(`${pack} `)) {
        waiter.reject(error);
        this.waiting.delete(key);
      }
  }

  /**
   * Every entry written (the threads write them between packs); the first
   * reason one could not be, if any.
   */
  async entriesWritten(): Promise<string | undefined> {
    const errors = await Promise.all(
      this.threads.map(
        (thread) =>
          new Promise<string | undefined>((resolve) => {
            thread.flushed = resolve;
            thread.worker.ref();
            thread.worker.postMessage({ flush: true });
          }),
      ),
    );
    return errors.find((error) => error !== undefined);
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.splice(0).map((thread) => thread.worker.terminate()));
  }

  /** To the thread with the fewest packs in hand, a new one while there are fewer than `threadCount`. */
  private send(pack: string, message: object): void {
    const idle = this.threads.length < this.threadCount && this.threads.every((thread) => thread.packs > 0);
    const thread = idle ? this.start() : this.threads.reduce((least, next) => (next.packs < least.packs ? next : least));
    thread.packs += 1;
    this.packThreads.set(pack, thread);
    thread.worker.ref(); // work in hand keeps the process alive until it is answered
    thread.worker.postMessage(message);
  }

  /** The pack is out of its thread's hands (cut, failed, or left to the caller). */
  private released(pack: string): void {
    const thread = this.packThreads.get(pack);
    this.packThreads.delete(pack);
    if (!thread) return;
    thread.packs -= 1;
    if (thread.packs === 0 && !thread.flushed) thread.worker.unref();
  }

  private start(): Thread {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const thread: Thread = { worker, packs: 0 };
    worker.on('message', (reply: Reply) => {
      if ('flushed' in reply) {
        const flushed = thread.flushed;
        delete thread.flushed;
        if (thread.packs === 0) worker.unref();
        flushed?.(reply.entryError);
      } else if ('cut' in reply) {
        this.released(reply.pack);
      } else if ('arrived' in reply) {
        this.downloads.get(reply.pack)?.resolve(reply.arrived);
        this.downloads.delete(reply.pack);
        if (!reply.arrived) this.released(reply.pack);
      } else if ('failed' in reply) {
        const error = new TransportError(`GET pack sha256:${reply.pack}: ${reply.failed}`);
        this.downloads.get(reply.pack)?.reject(error);
        this.downloads.delete(reply.pack);
        this.abandon(reply.pack, error);
        this.released(reply.pack);
      } else {
        const key = `${reply.pack} ${reply.output}`;
        const waiter = this.waiting.get(key);
        this.waiting.delete(key);
        if ('corrupt' in reply) waiter?.reject(new DigestMismatchError(`sha256:${reply.output}`, reply.corrupt));
        else if ('error' in reply) waiter?.reject(new Error(`writing ${reply.output}: ${reply.error}`));
        else waiter?.resolve();
      }
    });
    // A thread that dies fails what it had in hand; the gets that wanted those objects say so and go compiles.
    worker.on('error', (error) => {
      this.threads.splice(this.threads.indexOf(thread), 1);
      for (const [pack, holder] of [...this.packThreads])
        if (holder === thread) {
          this.downloads.get(pack)?.reject(error);
          this.downloads.delete(pack);
          this.abandon(pack, error);
          this.packThreads.delete(pack);
        }
      thread.flushed?.(`the writer's thread failed: ${error.message}`);
    });
    worker.unref();
    this.threads.push(thread);
    return thread;
  }
}
