import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError } from '../../cache/http.js';
import { ObjectWriter, type PackMember } from '../../cache/object-writer.js';
import { DigestMismatchError } from '../../cache/registry.js';
import { tempDir } from '../support/temp.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * The writer's thread against a loopback HTTP server: a pack it downloads
 * itself, a pack the server answers otherwise (the caller's to fetch), a
 * pack cut short, and an object whose bytes are not its OutputID.
 */
describe("the Go cache's object writer", () => {
  const objects = [Buffer.from('first object\n'), Buffer.alloc(70_000, 7), Buffer.from('third')];
  const pack = Buffer.concat(objects);
  const packDigest = sha256(pack);
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === '/pack') response.writeHead(200, { 'content-length': pack.length }).end(pack);
      else if (request.url === '/moved') response.writeHead(307, { location: '/pack' }).end();
      else if (request.url === '/short') {
        // Promises the whole pack, sends half, and hangs up.
        response.writeHead(200, { 'content-length': pack.length });
        response.write(pack.subarray(0, pack.length / 2), () => response.destroy());
      } else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const membersIn = (gocache: string, outputs = objects.map(sha256)): PackMember[] => {
    let offset = 0;
    return objects.map((object, at) => {
      const member: PackMember = {
        output: outputs[at] as string,
        offset,
        size: object.length,
        file: join(gocache, `${at}-d`),
        entries: [{ file: join(gocache, `${at}-a`), line: `entry ${at}\n` }],
      };
      offset += object.length;
      return member;
    });
  };
  const request = (path: string) => ({ url: `${base}${path}`, headers: {}, ca: [], timeoutMs: 5000 });

  /** A writer and an empty GOCACHE for one test; the thread ends with it. */
  const withWriter = async (test: (writer: ObjectWriter, gocache: string) => Promise<void>, threads = 1) => {
    const writer = new ObjectWriter(threads);
    try {
      await test(writer, tempDir('writer'));
    } finally {
      await writer.close();
    }
  };

  it('downloads a pack on its thread, writes each object, then the entries of its actions', () =>
    withWriter(async (writer, gocache) => {
      const members = membersIn(gocache);
      const written = writer.expect(packDigest, members);
      expect(await writer.download(packDigest, pack.length, request('/pack'), members)).toBe(true);
      await Promise.all(written.values());
      for (const [at, member] of members.entries()) expect(readFileSync(member.file)).toEqual(objects[at]);
      expect(await writer.entriesWritten()).toBeUndefined();
      for (const [at, member] of members.entries()) expect(readFileSync(member.entries[0]?.file ?? '', 'utf8')).toBe(`entry ${at}\n`);
    }));

  it('spreads packs over its threads, each written whole, and flushes the entries of all of them', () =>
    withWriter(async (writer, gocache) => {
      const packs = ['one', 'two', 'three'].map((name) => ({ name, members: membersIn(join(gocache, name)) }));
      const written = packs.map(({ name, members }) => writer.expect(name, members));
      expect(await Promise.all(packs.map(({ name, members }) => writer.download(name, pack.length, request('/pack'), members)))).toEqual([true, true, true]);
      await Promise.all(written.flatMap((objects) => [...objects.values()]));
      expect(await writer.entriesWritten()).toBeUndefined();
      for (const { members } of packs)
        for (const [at, member] of members.entries()) expect(readFileSync(member.entries[0]?.file ?? '', 'utf8')).toBe(`entry ${at}\n`);
    }, 2));

  it('leaves an answer other than the pack to the caller, whose bytes it then writes', () =>
    withWriter(async (writer, gocache) => {
      const members = membersIn(gocache);
      const written = writer.expect(packDigest, members);
      expect(await writer.download(packDigest, pack.length, request('/moved'), members)).toBe(false);
      writer.write(packDigest, pack, members);
      await Promise.all(written.values());
      expect(readFileSync(members[1]?.file ?? '')).toEqual(objects[1]);
    }));

  it('fails a pack cut short, and every object promised of it, as the transport’s failure; nothing is written', () =>
    withWriter(async (writer, gocache) => {
      const members = membersIn(gocache);
      const written = writer.expect(packDigest, members);
      await expect(writer.download(packDigest, pack.length, request('/short'), members)).rejects.toBeInstanceOf(TransportError);
      for (const promise of written.values()) await expect(promise).rejects.toBeInstanceOf(TransportError);
      expect(members.some((member) => existsSync(member.file))).toBe(false);
    }));

  it('refuses an object whose bytes are not its OutputID, writes the others, and writes no entry for it', () =>
    withWriter(async (writer, gocache) => {
      const outputs = objects.map(sha256);
      outputs[1] = 'f'.repeat(64);
      const members = membersIn(gocache, outputs);
      const written = writer.expect(packDigest, members);
      expect(await writer.download(packDigest, pack.length, request('/pack'), members)).toBe(true);
      await expect(written.get(outputs[1] ?? '')).rejects.toBeInstanceOf(DigestMismatchError);
      await Promise.all([written.get(outputs[0] ?? ''), written.get(outputs[2] ?? '')]);
      await writer.entriesWritten();
      expect([0, 1, 2].map((at) => existsSync(join(gocache, `${at}-d`)))).toEqual([true, false, true]);
      expect([0, 1, 2].map((at) => existsSync(join(gocache, `${at}-a`)))).toEqual([true, false, true]);
    }));
});
