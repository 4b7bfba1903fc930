import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import { describeError } from '../core/errors.js';
import { jsonOrUndefined } from '../core/json-file.js';
import { eachInLanes } from '../core/lanes.js';
import {
  dayOf,
  distinctObjects,
  latestDay,
  membersByPack,
  packsOf,
  pushPack,
  readGoCacheMap,
  writeGoCacheMap,
  type MapEntry,
  type Pack,
} from './go-cache-map.js';
import { ObjectWriter, type PackMember } from './object-writer.js';
import { DigestMismatchError, digestOf, type RegistryClient } from './registry.js';

/**
 * A GOCACHEPROG program (cmd/go/internal/cacheprog): the go command's build
 * cache, answered from GOCACHE itself first (its own on-disk format, so the
 * same machine without the program keeps every object) and from the shared
 * cache second. An object's OutputID is its sha256, so every one is checked
 * as it arrives; the action → output map of a build is the config of one
 * artifact per component, `gocache-<component>` (go-cache-map.ts), whose
 * layers, packs of objects, keep them alive in the registry. When pushing,
 * the map of everything this go command used and, packed, the objects the
 * registry lacks go up when go closes the program.
 */
/** Set by make for the program: go's GOCACHE folder, and the artifact's tag. */
export const GOCACHE_DIR_VARIABLE = 'MOBY_MAKE_GOCACHE_DIR';
export const GOCACHE_TAG_VARIABLE = 'MOBY_MAKE_GOCACHE_TAG';
/**
 * A pack's size when pushing: large enough that a request's cost is small
 * beside its bytes, small enough to hold whole in memory (an object larger
 * than this is a pack of its own).
 */
const PACK_BYTES = 32 << 20;
const PARALLEL_UPLOADS = 2;
/**
 * go asks for one action at a time per build job (two here), so fetching
 * on demand pays a round trip per object; the latest build's packs are
 * fetched ahead, this many at once (and objects of a map from before packs,
 * more at once, being small), and a get waits for its object.
 */
const PARALLEL_PACK_PREFETCH = 4;
const PARALLEL_OBJECT_PREFETCH = 16;
/** Threads downloading and writing packs: one alone received, hashed and wrote 1.2 GB at 190 MB/s, slower than the registry sent. */
const WRITER_THREADS = 2;

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
  private readonly counts = { local: 0, remote: 0, miss: 0, put: 0, blobs: 0, bytes: 0, byClient: 0 };
  /** Objects being fetched (by output ID), and packs (by digest): ahead of go, or for its get. */
  private readonly fetching = new Map<string, Promise<void>>();
  /** The objects of each pack the remote map names, each once. */
  private packMembers: Map<string, MapEntry[]> | undefined;
  /** Objects of fetched packs being written, or written (a rejection: corrupt, or not written), by output ID. */
  private readonly objects = new Map<string, Promise<void>>();
  private readonly writer = new ObjectWriter(WRITER_THREADS);
  /** The prefetch's actions by output: their entries go to a writer's thread with the object. */
  private readonly entriesAhead = new Map<string, string[]>();
  /** Actions whose entries went to the writer with their objects. */
  private readonly entriesWithObjects = new Set<string>();
  /** GOCACHE entries being written in the background, and the first reason one failed. */
  private readonly entryWrites = new Set<Promise<void>>();
  private entryFailure: string | undefined;
  /** GOCACHE's two-hex-digit folders known to exist. */
  private readonly folders = new Set<string>();
  private prefetch: Promise<void> | undefined;
  private closing = false;

  constructor(private readonly options: GoCacheProgramOptions) {}

  /** Speaks the protocol on these streams until go sends close (or closes stdin), after go-cache-main.ts's handshake. */
  async serve(input: Readable, output: Writable): Promise<void> {
    const send = (response: Response) => output.write(`${JSON.stringify(response)}\n`);
    const lines = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
    const pending = new Set<Promise<void>>();
    const answer = (id: number, work: () => Omit<Response, 'ID'> | Promise<Omit<Response, 'ID'>>) => {
      const task = Promise.resolve()
        .then(work)
        .then(
          (response) => void send({ ID: id, ...response }),
          (error: unknown) => void send({ ID: id, Err: describeError(error) }),
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
        answer(request.ID, () => this.put(request, body));
      } else if (request.Command === 'get') {
        answer(request.ID, () => this.get(request));
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
    await this.entriesWritten();
    await this.writer.close();
  }

  private async get(request: Request): Promise<Omit<Response, 'ID'>> {
    const action = hex(request.ActionID);
    const local = this.readLocal(action);
    if (local) {
      // An entry the prefetch wrote with its object is the registry's answer.
      if (this.entriesWithObjects.has(action)) this.counts.remote += 1;
      else this.counts.local += 1;
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

  private put(request: Request, body: Buffer): Omit<Response, 'ID'> {
    const action = hex(request.ActionID);
    const output = hex(request.OutputID);
    if (digestOf(body) !== `sha256:${output}`) throw new Error(`put ${action}: the body is not its OutputID`);
    this.writeObject(output, body);
    this.writeEntry(action, output, body.length);
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
    return this.hasObject(entry) ? entry : undefined;
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
      if (!this.entriesWithObjects.has(action)) this.writeEntry(action, entry.output, entry.size);
      return entry;
    } catch (error) {
      // A corrupt object is that action's miss (go compiles it); anything else means the store is not to be trusted to answer.
      if (error instanceof DigestMismatchError)
        this.options.report(`moby-make go cache: object ${error.expected} of ${this.options.tag} is corrupt (${error.message}); compiling it`);
      else this.goAway(error);
      return undefined;
    }
  }

  /** The object into GOCACHE once, however many gets (and the prefetch) want it: with its whole pack, or as its own blob. */
  private async fetchObject(client: RegistryClient, entry: MapEntry): Promise<void> {
    // An object GOCACHE has for another action (or had without this action's entry) needs no pack.
    if (this.hasObject(entry)) return;
    if (entry.pack) {
      await this.fetchPack(client, entry.pack);
      const written = this.objects.get(entry.output);
      if (!written) throw new Error(`the map puts ${entry.output} in pack ${entry.pack.digest}, which does not list it`);
      await written;
      return;
    }
    await this.once(entry.output, async () => {
      const object = this.path(entry.output, 'd');
      const partial = this.partialFor(entry.output);
      await client.blobToFile(`sha256:${entry.output}`, entry.size, partial);
      this.counted(entry.size);
      await rename(partial, object);
    });
  }

  /**
   * A pack downloaded and cut into its objects on a writer thread, each
   * checked against its OutputID before it is written (bytes that are no
   * object of the map are never used); resolves when the pack is here, each
   * object's write being its own promise in `objects`. A pack the registry
   * answers otherwise (a redirect to storage, an expired token) is fetched
   * by the client, which follows it, and written on a writer thread. The
   * prefetch's actions' entries go with its objects; if the pack never
   * comes, the gets write their own.
   */
  private fetchPack(client: RegistryClient, pack: Pack): Promise<void> {
    return this.once(pack.digest, async () => {
      const withObjects: string[] = [];
      const members = (this.packMembers?.get(pack.digest) ?? []).map((member): PackMember => {
        const actions = this.entriesAhead.get(member.output) ?? [];
        this.entriesAhead.delete(member.output);
        withObjects.push(...actions);
        return {
          output: member.output,
          offset: member.offset ?? 0,
          size: member.size,
          file: this.path(member.output, 'd'),
          entries: actions.map((action) => ({ file: this.path(action, 'a'), line: entryLine(action, member.output, member.size) })),
        };
      });
      for (const action of withObjects) this.entriesWithObjects.add(action);
      for (const [output, written] of this.writer.expect(pack.digest, members)) this.objects.set(output, written);
      const digest = `sha256:${pack.digest}`;
      try {
        if (!(await this.writer.download(pack.digest, pack.size, client.blobRequest(digest), members))) {
          this.writer.write(pack.digest, await client.blobCheckedByParts(digest, pack.size), members);
          this.counts.byClient += 1;
        }
      } catch (error) {
        this.writer.abandon(pack.digest, error instanceof Error ? error : new Error(String(error)));
        for (const action of withObjects) this.entriesWithObjects.delete(action);
        throw error;
      }
      this.counted(pack.size);
    });
  }

  /** Every object of the pack written, or failed. */
  private async packWritten(pack: Pack): Promise<void> {
    const writes = (this.packMembers?.get(pack.digest) ?? []).flatMap((member) => this.objects.get(member.output) ?? []);
    await Promise.allSettled(writes);
  }

  /** `work` run once per key at a time; a failed one is forgotten, so the next get tries again. */
  private once(key: string, work: () => Promise<void>): Promise<void> {
    let running = this.fetching.get(key);
    if (!running) {
      running = work().catch((error: unknown) => {
        this.fetching.delete(key);
        throw error;
      });
      this.fetching.set(key, running);
    }
    return running;
  }

  /**
   * The objects of the map's latest day (what the newest pushes used, the
   * likeliest to be asked for; older actions may belong to commits long
   * gone) that GOCACHE lacks into GOCACHE ahead of go, pack by pack in the
   * order they were pushed, which is about the order go asks, each with
   * its actions' entries. A warm GOCACHE that misses an edit's few actions
   * fetches only the packs of objects it does not have. Stops at close or
   * when the store fails; what failed is fetched again, or reported, by the
   * get that needs it.
   */
  private async fetchAhead(index: ReadonlyMap<string, MapEntry>): Promise<void> {
    const client = this.options.client as RegistryClient;
    const latest = latestDay(index);
    const newest = new Map([...index].filter(([, entry]) => entry.day === latest));
    // Each object looked for once, however many actions share it.
    const lacking = new Set(distinctObjects(newest).flatMap((entry) => (this.hasObject(entry) ? [] : [entry.output])));
    const wanted = new Map([...newest].filter(([, entry]) => lacking.has(entry.output)));
    for (const [action, entry] of wanted) this.entriesAhead.set(entry.output, [...(this.entriesAhead.get(entry.output) ?? []), action]);
    const ahead = async (fetch: () => Promise<void>) => {
      if (!this.closing && !this.away) await fetch().catch(() => undefined);
    };
    await Promise.all([
      // A lane takes its next pack once this one's objects are written: at most this many packs are in memory.
      eachInLanes(packsOf(wanted), PARALLEL_PACK_PREFETCH, (pack) => ahead(() => this.fetchPack(client, pack).then(() => this.packWritten(pack)))),
      eachInLanes(
        distinctObjects(wanted).filter((entry) => !entry.pack),
        PARALLEL_OBJECT_PREFETCH,
        (entry) => ahead(() => this.fetchObject(client, entry)),
      ),
    ]);
  }

  private remoteIndex(): Promise<Map<string, MapEntry>> {
    this.index ??= (async () => {
      const client = this.options.client as RegistryClient;
      await client.ping();
      const index = await readGoCacheMap(client, this.options.tag);
      this.packMembers = membersByPack(index);
      return index;
    })();
    return this.index;
  }

  /** At go's close: the counts, and (when pushing) the objects the registry lacks and the map of this build. */
  private async close(): Promise<void> {
    this.closing = true;
    await this.prefetch;
    await this.entriesWritten();
    const { local, remote, miss, put, blobs, bytes, byClient } = this.counts;
    const from = this.options.client ? this.options.client.name : 'no shared cache';
    // go puts what it compiled, and its index of each package of a source tree it had not indexed (a new checkout's).
    this.options.report(
      `moby-make go cache: ${local} from GOCACHE, ${remote} from ${from}, ${miss} missed, ${put} stored; ${blobs} blobs (${(bytes / 1e6).toFixed(1)} MB) fetched` +
        // Packs the registry answered the threads otherwise (a redirect, an expired token) took the slower way, on the main thread.
        (byClient > 0 ? `, ${byClient} of them by the main thread` : ''),
    );
    const { client } = this.options;
    if (!client || !this.options.push || this.away || this.used.size === 0) return;
    try {
      const known = await this.remoteIndex();
      // Where each object already is in the registry; the ones it lacks go up in new packs.
      const located = new Map<string, Pick<MapEntry, 'pack' | 'offset'>>();
      for (const entry of known.values()) located.set(entry.output, entry.pack ? { pack: entry.pack, offset: entry.offset ?? 0 } : {});
      const toUpload = distinctObjects(this.used).filter((entry) => !located.has(entry.output));
      const packs = await this.pushPacks(client, toUpload, located);
      // Merged with what is there: a component's several go builds (containerd's binaries) share one map; what this build used is used today.
      const today = dayOf(new Date());
      const merged = new Map(known);
      for (const [action, entry] of this.used) merged.set(action, { output: entry.output, size: entry.size, day: today, ...located.get(entry.output) });
      await writeGoCacheMap(client, this.options.tag, merged);
      this.options.report(
        `moby-make go cache: pushed ${toUpload.length} objects in ${packs} packs and the map of ${merged.size} actions to ${client.name}:${this.options.tag}`,
      );
    } catch (error) {
      this.options.report(`moby-make go cache: not pushed to ${client.name}: ${describeError(error)}`);
    }
  }

  /** The objects, in the order go used them, in packs of about PACK_BYTES each; where each landed goes into `located`. The number of packs. */
  private async pushPacks(client: RegistryClient, objects: readonly Entry[], located: Map<string, Pick<MapEntry, 'pack' | 'offset'>>): Promise<number> {
    const groups: Entry[][] = [];
    let filled = PACK_BYTES;
    for (const object of objects) {
      if (filled + object.size > PACK_BYTES) {
        groups.push([]);
        filled = 0;
      }
      (groups.at(-1) as Entry[]).push(object);
      filled += object.size;
    }
    await eachInLanes(groups, PARALLEL_UPLOADS, async (members) => {
      const places = await pushPack(
        client,
        members.map((member) => ({ output: member.output, bytes: readFileSync(this.path(member.output, 'd')) })),
      );
      for (const [output, place] of places) located.set(output, place);
    });
    return groups.length;
  }

  private goAway(error: unknown): void {
    if (this.away) return;
    this.away = true;
    const name = this.options.client?.name ?? 'the shared cache';
    this.options.report(`moby-make go cache: ${name} failed (${describeError(error)}); compiling the rest locally`);
  }

  /** An object into GOCACHE under a private name first, renamed over its own once whole: a reader never sees half an object. */
  private writeObject(output: string, body: Buffer): void {
    if (this.hasObject({ output, size: body.length })) return;
    const partial = this.partialFor(output);
    writeFileSync(partial, body);
    renameSync(partial, this.path(output, 'd'));
  }

  /**
   * An action's GOCACHE entry, for go runs without the program (the
   * prefetch's go with their objects, on the writer's thread). Written in
   * the background, awaited at close: go has its answer already. On the
   * get's path they were a round through libuv's queue each (awaited) or
   * seconds of the event loop (synchronous, thousands of files created on a
   * fresh machine).
   */
  private writeEntry(action: string, output: string, size: number): void {
    this.folderFor(action);
    const written = writeFile(this.path(action, 'a'), entryLine(action, output, size)).catch((error: unknown) => {
      this.entryFailure ??= describeError(error);
    });
    this.entryWrites.add(written);
    void written.finally(() => this.entryWrites.delete(written));
  }

  /** The entries still being written; says once if any could not be. */
  private async entriesWritten(): Promise<void> {
    await Promise.all(this.entryWrites);
    this.entryFailure ??= await this.writer.entriesWritten();
    if (this.entryFailure)
      this.options.report(`moby-make go cache: some GOCACHE entries were not written (${this.entryFailure}); go without the program will compile them`);
    this.entryFailure = undefined;
  }

  private counted(bytes: number): void {
    this.counts.blobs += 1;
    this.counts.bytes += bytes;
  }

  /** GOCACHE holds the object (at its size: a file renamed into place is whole). */
  private hasObject(entry: Entry): boolean {
    return statSync(this.path(entry.output, 'd'), { throwIfNoEntry: false })?.size === entry.size;
  }

  /** A private name beside an object's file, in its folder. */
  private partialFor(output: string): string {
    this.folderFor(output);
    return `${this.path(output, 'd')}.${randomBytes(6).toString('hex')}.partial`;
  }

  /** GOCACHE's folder for an id, made once per run: thousands of objects share 256 folders. */
  private folderFor(id: string): void {
    const folder = id.slice(0, 2);
    if (this.folders.has(folder)) return;
    mkdirSync(join(this.options.gocache, folder), { recursive: true });
    this.folders.add(folder);
  }

  private path(id: string, kind: 'a' | 'd'): string {
    return join(this.options.gocache, id.slice(0, 2), `${id}-${kind}`);
  }
}

/**
 * An entry as cmd/go/internal/cache writes it: fixed width, so a second
 * write of the same entry is idempotent; the time is its last use.
 */
function entryLine(action: string, output: string, size: number): string {
  return `v1 ${action} ${output} ${String(size).padStart(20)} ${String(Date.now() * 1_000_000).padStart(20)}\n`;
}

function hex(base64: string | undefined): string {
  const bytes = Buffer.from(base64 ?? '', 'base64');
  if (bytes.length !== 32) throw new Error('a request without a 32-byte id');
  return bytes.toString('hex');
}
