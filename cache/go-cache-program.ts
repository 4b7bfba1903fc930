import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import { jsonOrUndefined } from '../core/json-file.js';
import { eachInLanes } from '../core/lanes.js';
import { dayOf, distinctObjects, readGoCacheMap, writeGoCacheMap, type MapEntry } from './go-cache-map.js';
import { digestOf, type RegistryClient } from './registry.js';

/**
 * A GOCACHEPROG program (cmd/go/internal/cacheprog): the go command's build
 * cache, answered from GOCACHE itself first (its own on-disk format, so the
 * same machine without the program keeps every object) and from the shared
 * cache second. Objects are OCI blobs whose digest is their OutputID, which
 * is the sha256 of the object, so every one is checked as it arrives; the
 * action → output map of a build is the config of one artifact per
 * component, `gocache-<component>`, whose layers keep the objects alive in
 * the registry. When pushing, the map of everything this go command used
 * and the objects the registry lacks go up when go closes the program.
 */
/** Set by make for the program: go's GOCACHE folder, and the artifact's tag. */
export const GOCACHE_DIR_VARIABLE = 'MOBY_MAKE_GOCACHE_DIR';
export const GOCACHE_TAG_VARIABLE = 'MOBY_MAKE_GOCACHE_TAG';
const PARALLEL_UPLOADS = 8;
/**
 * go asks for one action at a time per build job (two here), so fetching
 * on demand pays a round trip per object; the latest build's objects are
 * fetched ahead, this many at once, and a get waits for its object.
 */
const PARALLEL_PREFETCH = 16;

const requestSchema = z.object({
  ID: z.number().int(),
  Command: z.string(),
  ActionID: z.string().optional(),
  OutputID: z.string().optional(),
  BodySize: z.number().int().nonnegative().optional(),
});
type Request = z.infer<typeof requestSchema>;

interface Response {
  ID: number;
  Err?: string;
  KnownCommands?: string[];
  Miss?: boolean;
  OutputID?: string;
  Size?: number;
  Time?: string;
  DiskPath?: string;
}

export interface GoCacheProgramOptions {
  /** The go command's GOCACHE folder, read and written in its own format. */
  gocache: string;
  /** The shared cache's client, or undefined to serve GOCACHE alone. */
  client?: RegistryClient;
  /** The artifact's tag: gocache-<component>. */
  tag: string;
  push: boolean;
  /** For one line of counts at close, and the one line that says the registry went away. */
  report: (line: string) => void;
}

interface Entry {
  output: string;
  size: number;
}

export class GoCacheProgram {
  private index: Promise<Map<string, MapEntry>> | undefined;
  private away = false;
  /** Every action this go command asked for or stored: the map pushed at close. */
  private readonly used = new Map<string, Entry>();
  private readonly counts = { local: 0, remote: 0, miss: 0, put: 0 };
  /** Objects being fetched (by output ID): ahead of go, or for its get. */
  private readonly fetching = new Map<string, Promise<void>>();
  private prefetch: Promise<void> | undefined;
  private closing = false;

  constructor(private readonly options: GoCacheProgramOptions) {}

  /** Speaks the protocol on these streams until go sends close (or closes stdin). */
  async serve(input: Readable, output: Writable): Promise<void> {
    const send = (response: Response) => output.write(`${JSON.stringify(response)}\n`);
    send({ ID: 0, KnownCommands: ['get', 'put', 'close'] });
    const lines = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
    const pending = new Set<Promise<void>>();
    const answer = (id: number, work: Promise<Omit<Response, 'ID'>>) => {
      const task = work.then(
        (response) => void send({ ID: id, ...response }),
        (error: unknown) => void send({ ID: id, Err: error instanceof Error ? error.message : String(error) }),
      );
      pending.add(task);
      void task.finally(() => pending.delete(task));
    };
    for (;;) {
      const next = await lines.next();
      if (next.done) break;
      if (next.value.trim() === '') continue;
      const request = requestSchema.parse(jsonOrUndefined(next.value));
      if (request.Command === 'put') {
        // The body follows as a JSON string of base64 whenever BodySize is not zero (go puts a blank line before it).
        let bodyLine = '';
        while (request.BodySize && bodyLine.trim() === '') {
          const line = await lines.next();
          if (line.done) throw new Error(`put ${request.ID}: stdin ended before its body`);
          bodyLine = line.value;
        }
        const body = request.BodySize ? Buffer.from(z.string().parse(jsonOrUndefined(bodyLine)), 'base64') : Buffer.alloc(0);
        answer(request.ID, this.put(request, body));
      } else if (request.Command === 'get') {
        answer(request.ID, this.get(request));
      } else if (request.Command === 'close') {
        await Promise.all(pending);
        await this.close();
        send({ ID: request.ID });
        break;
      } else {
        send({ ID: request.ID, Err: `unknown command ${request.Command}` });
      }
    }
    await Promise.all(pending);
    // go went away without close: nothing more will be asked.
    this.closing = true;
    await this.prefetch;
  }

  private async get(request: Request): Promise<Omit<Response, 'ID'>> {
    const action = hex(request.ActionID);
    const local = this.readLocal(action);
    if (local) {
      this.counts.local += 1;
      this.used.set(action, local);
      return this.hit(local);
    }
    const remote = await this.fetchRemote(action);
    if (!remote) {
      this.counts.miss += 1;
      return { Miss: true };
    }
    this.counts.remote += 1;
    this.used.set(action, remote);
    return this.hit(remote);
  }

  private async put(request: Request, body: Buffer): Promise<Omit<Response, 'ID'>> {
    const action = hex(request.ActionID);
    const output = hex(request.OutputID);
    if (digestOf(body) !== `sha256:${output}`) throw new Error(`put ${action}: the body is not its OutputID`);
    await this.writeObject(output, body);
    await this.writeEntry(action, output, body.length);
    this.counts.put += 1;
    const entry = { output, size: body.length };
    this.used.set(action, entry);
    return { DiskPath: this.path(output, 'd') };
  }

  private hit(entry: Entry): Omit<Response, 'ID'> {
    return { OutputID: Buffer.from(entry.output, 'hex').toString('base64'), Size: entry.size, DiskPath: this.path(entry.output, 'd') };
  }

  /** GOCACHE's own entry: `v1 <action> <output> <size> <time>`, with its object present at that size. */
  private readLocal(action: string): Entry | undefined {
    const file = this.path(action, 'a');
    if (!existsSync(file)) return undefined;
    const match = /^v1 ([0-9a-f]{64}) ([0-9a-f]{64}) +(\d+) +\d+\n$/.exec(readFileSync(file, 'latin1'));
    if (!match || match[1] !== action) return undefined;
    const entry = { output: match[2] as string, size: Number(match[3]) };
    const object = this.path(entry.output, 'd');
    return existsSync(object) && statSync(object).size === entry.size ? entry : undefined;
  }

  private async fetchRemote(action: string): Promise<Entry | undefined> {
    const { client } = this.options;
    if (!client || this.away) return undefined;
    try {
      const index = await this.remoteIndex();
      this.prefetch ??= this.fetchAhead(index);
      const entry = index.get(action);
      if (!entry) return undefined;
      await this.fetchObject(client, entry);
      await this.writeEntry(action, entry.output, entry.size);
      return entry;
    } catch (error) {
      this.goAway(error);
      return undefined;
    }
  }

  /** The object into GOCACHE once, however many gets (and the prefetch) want it. */
  private fetchObject(client: RegistryClient, entry: MapEntry): Promise<void> {
    let fetching = this.fetching.get(entry.output);
    if (!fetching) {
      fetching = (async () => {
        const object = this.path(entry.output, 'd');
        if (existsSync(object) && statSync(object).size === entry.size) return;
        const partial = await this.partialFor(entry.output);
        await client.blobToFile(`sha256:${entry.output}`, entry.size, partial);
        await rename(partial, object);
      })();
      this.fetching.set(entry.output, fetching);
    }
    return fetching;
  }

  /**
   * The objects of the map's latest day (what the newest pushes used, the
   * likeliest to be asked for; older actions may belong to commits long
   * gone) into GOCACHE ahead of go. Stops at close or when the store fails;
   * a failed object is fetched again, or reported, by the get that needs it.
   */
  private async fetchAhead(index: ReadonlyMap<string, MapEntry>): Promise<void> {
    const client = this.options.client as RegistryClient;
    // A reduce, not Math.max(...): a map merged over weeks of builds can hold more actions than a call takes arguments.
    const latest = [...index.values()].reduce((newest, entry) => Math.max(newest, entry.day), 0);
    const wanted = distinctObjects(new Map([...index].filter(([, entry]) => entry.day === latest)));
    await eachInLanes(wanted, PARALLEL_PREFETCH, async (entry) => {
      if (this.closing || this.away) return;
      await this.fetchObject(client, entry).catch(() => this.fetching.delete(entry.output));
    });
  }

  private remoteIndex(): Promise<Map<string, MapEntry>> {
    this.index ??= (async () => {
      const client = this.options.client as RegistryClient;
      await client.ping();
      return readGoCacheMap(client, this.options.tag);
    })();
    return this.index;
  }

  /** At go's close: the counts, and (when pushing) the objects the registry lacks and the map of this build. */
  private async close(): Promise<void> {
    this.closing = true;
    await this.prefetch;
    const { local, remote, miss, put } = this.counts;
    const from = this.options.client ? this.options.client.name : 'no shared cache';
    this.options.report(`moby-make go cache: ${local} from GOCACHE, ${remote} from ${from}, ${miss} missed, ${put} compiled and stored`);
    const { client } = this.options;
    if (!client || !this.options.push || this.away || this.used.size === 0) return;
    try {
      const known = await this.remoteIndex();
      // Merged with what is there: a component's several go builds (containerd's binaries) share one map; what this build used is used today.
      const today = dayOf(new Date());
      const merged = new Map(known);
      for (const [action, entry] of this.used) merged.set(action, { ...entry, day: today });
      const knownOutputs = new Set([...known.values()].map((entry) => entry.output));
      const toUpload = distinctObjects(merged).filter((entry) => !knownOutputs.has(entry.output));
      await eachInLanes(toUpload, PARALLEL_UPLOADS, async (object) => {
        await client.pushBlob(`sha256:${object.output}`, object.size, readFileSync(this.path(object.output, 'd')));
      });
      await writeGoCacheMap(client, this.options.tag, merged);
      this.options.report(`moby-make go cache: pushed ${toUpload.length} objects and the map of ${merged.size} actions to ${client.name}:${this.options.tag}`);
    } catch (error) {
      this.options.report(`moby-make go cache: not pushed to ${client.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private goAway(error: unknown): void {
    if (this.away) return;
    this.away = true;
    const name = this.options.client?.name ?? 'the shared cache';
    this.options.report(`moby-make go cache: ${name} failed (${error instanceof Error ? error.message : String(error)}); compiling the rest locally`);
  }

  private async writeObject(output: string, body: Buffer): Promise<void> {
    const file = this.path(output, 'd');
    if (existsSync(file) && statSync(file).size === body.length) return;
    const partial = await this.partialFor(output);
    await writeFile(partial, body);
    await rename(partial, file);
  }

  /** The entry as cmd/go/internal/cache writes it: fixed width, so a second write of the same entry is idempotent. */
  private async writeEntry(action: string, output: string, size: number): Promise<void> {
    await mkdir(join(this.options.gocache, action.slice(0, 2)), { recursive: true });
    const line = `v1 ${action} ${output} ${String(size).padStart(20)} ${String(Date.now() * 1_000_000).padStart(20)}\n`;
    const handle = await open(this.path(action, 'a'), 'w');
    try {
      await handle.writeFile(line);
    } finally {
      await handle.close();
    }
  }

  /** A private name beside an object's file, renamed over it once whole: a reader never sees half an object. */
  private async partialFor(output: string): Promise<string> {
    await mkdir(join(this.options.gocache, output.slice(0, 2)), { recursive: true });
    return `${this.path(output, 'd')}.${randomBytes(6).toString('hex')}.partial`;
  }

  private path(id: string, kind: 'a' | 'd'): string {
    return join(this.options.gocache, id.slice(0, 2), `${id}-${kind}`);
  }
}

function hex(base64: string | undefined): string {
  const bytes = Buffer.from(base64 ?? '', 'base64');
  if (bytes.length !== 32) throw new Error('a request without a 32-byte id');
  return bytes.toString('hex');
}
