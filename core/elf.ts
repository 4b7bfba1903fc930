import { open } from 'node:fs/promises';

/** What the header of an ELF file says about the machine it runs on and how it is linked. */
export interface ElfFacts {
  bits: 32 | 64;
  endian: 'little' | 'big';
  /** e_machine (elf.h): 62 x86-64, 183 AArch64, 40 ARM, 21 PPC64, 22 S/390. */
  machine: number;
  /** No PT_INTERP program header: nothing loads it but the kernel (static, or static-pie). */
  static: boolean;
}

const PT_INTERP = 3;
/** The header and the program headers are at the start; 64 KiB holds them for any binary a linker writes. */
const HEAD_BYTES = 64 * 1024;

/** The first `bytes` of a file (fewer when it is shorter). */
async function readHead(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Reads the ELF header and program headers as `file` and `readelf -l` would; undefined when the file is not ELF. */
export async function readElf(path: string): Promise<ElfFacts | undefined> {
  return parseElf(await readHead(path, HEAD_BYTES));
}

export function parseElf(head: Buffer): ElfFacts | undefined {
  if (head.length < 52 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const bits = head[4] === 2 ? 64 : head[4] === 1 ? 32 : undefined;
  const endian = head[5] === 1 ? 'little' : head[5] === 2 ? 'big' : undefined;
  if (!bits || !endian) return undefined;
  const u16 = (at: number) => (endian === 'little' ? head.readUInt16LE(at) : head.readUInt16BE(at));
  const u32 = (at: number) => (endian === 'little' ? head.readUInt32LE(at) : head.readUInt32BE(at));
  const u64 = (at: number) => Number(endian === 'little' ? head.readBigUInt64LE(at) : head.readBigUInt64BE(at));
  const machine = u16(18);
  const programHeaders = bits === 64 ? u64(32) : u32(28);
  const entrySize = u16(bits === 64 ? 54 : 42);
  const count = u16(bits === 64 ? 56 : 44);
  let interpreter = false;
  for (let i = 0; i < count; i++) {
    const at = programHeaders + i * entrySize;
    if (at + 4 > head.length) break;
    if (u32(at) === PT_INTERP) interpreter = true;
  }
  return { bits, endian, machine, static: !interpreter };
}

/** A Windows executable's PE header, as `file` reads it: the Machine field and whether the optional header is PE32+. */
export interface PeFacts {
  machine: number;
  pe32plus: boolean;
}

/** Undefined when the file is not a PE executable. */
export async function readPe(path: string): Promise<PeFacts | undefined> {
  return parsePe(await readHead(path, 4096));
}

export function parsePe(head: Buffer): PeFacts | undefined {
  if (head.length < 0x40 || head.toString('latin1', 0, 2) !== 'MZ') return undefined;
  const at = head.readUInt32LE(0x3c);
  if (at + 26 > head.length || head.readUInt32BE(at) !== 0x50450000) return undefined;
  return { machine: head.readUInt16LE(at + 4), pe32plus: head.readUInt16LE(at + 24) === 0x20b };
}
