import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Env } from './env.js';
import { UserError } from './errors.js';
import { lastLine, run } from './process.js';

export interface SourceFile {
  /** The file's path: *.sources files are deb822, everything else one-line. */
  name: string;
  text: string;
}

export interface SystemAptSources {
  /** The main list and the parts folder, as apt reports them (for messages). */
  list: string;
  parts: string;
  /** Every source file apt reads, in apt's order; missing ones are left out. */
  files: SourceFile[];
}

/** The machine's apt source files, read (never written) where apt itself reads them. */
export async function readSystemAptSources(env: Env, signal: AbortSignal): Promise<SystemAptSources> {
  const system = await systemSourceLocations(env, signal);
  const files: SourceFile[] = [];
  for (const path of [system.list, ...(await listParts(system.parts))]) {
    if (!existsSync(path)) continue;
    files.push({ name: path, text: await readFile(path, 'utf8') });
  }
  return { ...system, files };
}

/** Where this machine's apt reads its sources, as apt itself reports it. */
async function systemSourceLocations(env: Env, signal: AbortSignal): Promise<{ list: string; parts: string }> {
  const result = await run(['apt-config', 'shell', 'LIST', 'Dir::Etc::sourcelist/f', 'PARTS', 'Dir::Etc::sourceparts/d'], {
    env,
    signal,
  });
  if (result.exitCode !== 0) {
    throw new UserError(
      `apt-config is not usable here: ${result.exitCode === 127 ? 'not found' : lastLine(result.stderr)}`,
      'Reading the Debian mirrors needs apt (Debian or Ubuntu).',
    );
  }
  const value = (name: string, fallback: string) => new RegExp(`^${name}='([^']*)'`, 'm').exec(result.stdout)?.[1] ?? fallback;
  return { list: value('LIST', '/etc/apt/sources.list'), parts: value('PARTS', '/etc/apt/sources.list.d/') };
}

/** The files apt reads from sources.list.d: *.list and *.sources with plain names, in order. */
async function listParts(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((name) => /^[A-Za-z0-9_.-]+\.(list|sources)$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}
