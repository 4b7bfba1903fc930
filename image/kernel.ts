import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import { sha256File, sha256Text } from '../core/hashing.js';
import { populateAtomically } from '../core/populate-atomically.js';
import { run } from '../core/process.js';

/** A Debian kernel package as the apt sources this machine uses describe it: what is verified and recorded. */
export interface KernelPackage {
  /** The versioned package that holds the kernel (linux-image-6.1.0-57-amd64), after following a metapackage. */
  package: string;
  version: string;
  /** The index's SHA256 of the .deb, checked again after the download. */
  sha256: string;
  /** The package named in image.yml, when it is a metapackage. */
  requested: string;
}

export interface KernelTree {
  pkg: KernelPackage;
  /** The unpacked .deb (boot/, lib/modules/<release>/). */
  dir: string;
  /** uname -r of the kernel: 6.1.0-57-amd64. */
  release: string;
  vmlinuz: string;
}

interface PackageRecord {
  version: string;
  sha256: string;
  depends: string[];
}

async function candidate(name: string, env: Env): Promise<PackageRecord> {
  const shown = await run(['apt-cache', 'show', '--no-all-versions', name], { env });
  const version = /^Version: (\S+)$/m.exec(shown.stdout)?.[1];
  const sha256 = /^SHA256: ([0-9a-f]{64})$/m.exec(shown.stdout)?.[1];
  if (shown.exitCode !== 0 || !version || !sha256) {
    throw new UserError(
      `apt knows no package ${name} (kernel.package in image.yml)`,
      'Run apt-get update, or name a kernel package the apt sources have (apt-cache search linux-image).',
    );
  }
  const depends = (/^Depends: (.*)$/m.exec(shown.stdout)?.[1] ?? '').split(',').map((item) => item.trim().split(/\s/)[0] ?? '');
  return { version, sha256, depends };
}

/**
 * What apt's indexes are now: their files' names, sizes and times. apt-get
 * update changes it; nothing else changes what apt-cache answers.
 */
function aptListsState(): string {
  const lists = '/var/lib/apt/lists';
  if (!existsSync(lists)) return '';
  return readdirSync(lists)
    .sort()
    .map((name) => {
      const info = statSync(join(lists, name));
      return `${name}:${info.size}:${info.mtimeMs}`;
    })
    .join('\n');
}

/**
 * The package's candidate version; a metapackage (linux-image-amd64)
 * resolves to the kernel it depends on. The answer is kept until apt's
 * indexes change: where apt keeps no package cache (Debian's container
 * images), each apt-cache call parses every index again, 0.4 s here.
 */
export async function resolveKernelPackage(name: string, env: Env, cacheDir: string): Promise<KernelPackage> {
  const file = join(cacheDir, 'image-kernels', 'resolved.json');
  const lists = sha256Text(aptListsState());
  const kept = existsSync(file) ? resolvedSchema.safeParse(JSON.parse(readFileSync(file, 'utf8'))) : undefined;
  if (kept?.success && kept.data.lists === lists && kept.data.pkg.requested === name) return kept.data.pkg;
  const pkg = await resolveFromApt(name, env);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.${process.pid}`, JSON.stringify({ lists, pkg }));
  await rename(`${file}.${process.pid}`, file);
  return pkg;
}

const resolvedSchema = z.object({
  lists: z.string(),
  pkg: z.object({ package: z.string(), version: z.string(), sha256: z.string(), requested: z.string() }),
});

async function resolveFromApt(name: string, env: Env): Promise<KernelPackage> {
  const record = await candidate(name, env);
  const kernel = record.depends.find((item) => /^linux-image-\d/.test(item));
  if (!/^linux-image-\d/.test(name) && kernel) {
    const versioned = await candidate(kernel, env);
    return { package: kernel, version: versioned.version, sha256: versioned.sha256, requested: name };
  }
  return { package: name, version: record.version, sha256: record.sha256, requested: name };
}

/** The unpacked kernel package, downloaded once per sha256 into the cache and checked against the index's digest. */
export async function ensureKernelTree(pkg: KernelPackage, cacheDir: string, env: Env): Promise<KernelTree> {
  const dir = join(cacheDir, 'image-kernels', pkg.sha256);
  if (!existsSync(join(dir, 'boot'))) {
    await populateAtomically(dir, async (temp) => {
      // apt-get download checks the .deb against the signed index; the digest is checked here once more, as every fetch is.
      const fetched = await run(['apt-get', 'download', `${pkg.package}=${pkg.version}`], { cwd: temp, env });
      const deb = readdirSync(temp).find((name) => name.endsWith('.deb'));
      if (fetched.exitCode !== 0 || !deb) {
        throw new UserError(
          `apt-get download ${pkg.package}=${pkg.version} failed: ${fetched.stderr.trim().split('\n').pop()}`,
          'Run apt-get update and try again.',
        );
      }
      const actual = await sha256File(join(temp, deb));
      if (actual !== pkg.sha256) throw new UserError(`${deb} has sha256 ${actual}, the apt index says ${pkg.sha256}`, 'Run apt-get update and try again.');
      const unpacked = await run(['dpkg-deb', '-x', deb, 'tree'], { cwd: temp, env });
      if (unpacked.exitCode !== 0) throw new UserError(`dpkg-deb could not unpack ${deb}: ${unpacked.stderr.trim()}`, 'Remove the cache entry and try again.');
      await rm(join(temp, deb));
      return join(temp, 'tree');
    });
  }
  const modules = join(dir, 'lib', 'modules');
  const [release] = existsSync(modules) ? readdirSync(modules) : [];
  const vmlinuz = release ? join(dir, 'boot', `vmlinuz-${release}`) : '';
  if (!release || !existsSync(vmlinuz))
    throw new UserError(`${pkg.package} holds no boot/vmlinuz-<release> and lib/modules/<release>`, 'Name a Debian linux-image package in kernel.package.');
  return { pkg, dir, release, vmlinuz };
}

/** What modprobe reads from a module's ELF `.modinfo` section: hard dependencies, soft `pre:` dependencies, aliases. */
export interface ModuleInfo {
  depends: string[];
  /** `softdep=pre: crc32c`: loaded first, often by an alias (the module calls request_module, and there is no modprobe). */
  softPre: string[];
  aliases: string[];
}

export function moduleInfo(elf: Buffer): ModuleInfo {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const sectionsAt = Number(elf.readBigUInt64LE(0x28));
  const entrySize = elf.readUInt16LE(0x3a);
  const count = elf.readUInt16LE(0x3c);
  const namesIndex = elf.readUInt16LE(0x3e);
  const section = (index: number) => {
    const at = sectionsAt + index * entrySize;
    return { name: elf.readUInt32LE(at), offset: Number(elf.readBigUInt64LE(at + 24)), size: Number(elf.readBigUInt64LE(at + 32)) };
  };
  const names = section(namesIndex);
  const info: ModuleInfo = { depends: [], softPre: [], aliases: [] };
  for (let index = 0; index < count; index += 1) {
    const candidate = section(index);
    const nameEnd = elf.indexOf(0, names.offset + candidate.name);
    if (elf.toString('latin1', names.offset + candidate.name, nameEnd) !== '.modinfo') continue;
    for (const field of elf.toString('latin1', candidate.offset, candidate.offset + candidate.size).split('\0')) {
      const [key, value = ''] = field.split(/=(.*)/s);
      if (key === 'depends') info.depends.push(...value.split(',').filter(Boolean));
      else if (key === 'alias') info.aliases.push(value);
      else if (key === 'softdep') info.softPre.push(...(/pre:\s*([^:]*?)(?:\s+post:.*)?$/.exec(value)?.[1] ?? '').split(/\s+/).filter(Boolean));
    }
  }
  return info;
}

const moduleName = (name: string) => name.replace(/-/g, '_');

/** What image/init reads when it stands in for modprobe: every autoload module by name with what it needs, and the aliases the kernel asks by. */
export interface ModuleIndex {
  modules: Record<string, { path: string; depends: string[]; softPre: string[] }>;
  /** [pattern, module]: the kernel asks for `nft-chain-2-nat` or `net-pf-16-proto-12`; patterns may hold modprobe's wildcards. */
  aliases: Array<[string, string]>;
}

/**
 * The modules under `folders` (relative to lib/modules/<release>/kernel) and
 * everything they depend on: their files (paths relative to the kernel tree)
 * and the index that resolves a request by name or alias. Dependencies
 * outside the folders are taken too (libcrc32c for nf_tables).
 */
export async function autoloadModules(tree: KernelTree, folders: readonly string[]): Promise<{ files: string[]; index: ModuleIndex }> {
  const kernelDir = join('lib', 'modules', tree.release, 'kernel');
  const all = moduleFiles(tree);
  const index: ModuleIndex = { modules: {}, aliases: [] };
  const pending: string[] = [];
  for (const folder of folders) {
    const prefix = `${join(kernelDir, folder)}/`;
    const inFolder = [...all].filter(([, path]) => path.startsWith(prefix)).map(([name]) => name);
    if (inFolder.length === 0)
      throw new UserError(
        `${tree.pkg.package} has no modules under ${join(kernelDir, folder)}`,
        'Fix kernel.autoload in image.yml (folders such as net/netfilter).',
      );
    pending.push(...inFolder.sort());
  }
  const builtin = builtinModules(tree);
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (index.modules[name] || builtin.has(name)) continue;
    const path = all.get(name);
    if (!path) continue; // a soft dependency the kernel package does not build
    const info = moduleInfo(await readFile(join(tree.dir, path)));
    const depends = info.depends.map(moduleName).filter((dependency) => !builtin.has(dependency));
    const softPre = info.softPre.map(moduleName).filter((dependency) => !builtin.has(dependency));
    index.modules[name] = { path: `/${path}`, depends, softPre };
    for (const alias of info.aliases) index.aliases.push([alias, name]);
    pending.push(...depends, ...softPre);
  }
  index.aliases.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { files: Object.values(index.modules).map((module) => module.path.slice(1)), index };
}

function builtinModules(tree: KernelTree): Set<string> {
  const base = join('lib', 'modules', tree.release);
  return new Set(
    readFileSync(join(tree.dir, base, 'modules.builtin'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((path) =>
        moduleName(
          path
            .split('/')
            .pop()!
            .replace(/\.ko.*$/, ''),
        ),
      ),
  );
}

/** Every loadable module of the kernel by name (dashes as underscores), as a path relative to the kernel tree; walked once per tree. */
const walkedTrees = new Map<string, Map<string, string>>();
function moduleFiles(tree: KernelTree): Map<string, string> {
  const walked = walkedTrees.get(tree.dir);
  if (walked) return walked;
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(tree.dir, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ko')) files.set(moduleName(entry.name.slice(0, -3)), path);
    }
  };
  walk(join('lib', 'modules', tree.release, 'kernel'));
  walkedTrees.set(tree.dir, files);
  return files;
}

/**
 * The modules to load, dependencies first, as paths relative to the kernel
 * tree (what modprobe would load, without depmod's files, which the .deb
 * does not carry). Built-in modules need nothing; an unknown name is an error.
 */
export async function moduleClosure(tree: KernelTree, wanted: readonly string[]): Promise<string[]> {
  const builtin = builtinModules(tree);
  const files = moduleFiles(tree);
  // Aliases (crc32c -> crc32c_generic) are read from every module, once, and only when a soft dependency names one.
  let aliases: Map<string, string> | undefined;
  const byAlias = async (alias: string) => {
    if (!aliases) {
      aliases = new Map();
      for (const [name, path] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
        for (const known of moduleInfo(await readFile(join(tree.dir, path))).aliases) if (!aliases.has(known)) aliases.set(known, name);
      }
    }
    return aliases.get(alias);
  };
  const ordered: string[] = [];
  const seen = new Set<string>();
  const visit = async (name: string, neededBy: string | undefined, soft = false): Promise<void> => {
    let key = moduleName(name);
    if (!files.has(key) && !builtin.has(key) && neededBy) key = (await byAlias(name)) ?? key;
    if (seen.has(key) || builtin.has(key)) return;
    seen.add(key);
    const path = files.get(key);
    if (!path && soft) return;
    if (!path) {
      throw new UserError(
        `${tree.pkg.package} has no module ${name}${neededBy ? ` (needed by ${neededBy})` : ''}`,
        `Remove it from kernel.modules in image.yml, or check its name under ${join(tree.dir, 'lib', 'modules', tree.release)}.`,
      );
    }
    const info = moduleInfo(await readFile(join(tree.dir, path)));
    for (const dependency of info.softPre) await visit(dependency, key, true);
    for (const dependency of info.depends) await visit(dependency, key);
    ordered.push(path);
  };
  for (const name of wanted) await visit(name, undefined);
  return ordered;
}
