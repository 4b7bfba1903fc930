import { existsSync, lstatSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { pruneCacheEntries, touchCacheEntry } from '../../core/cache-entries.js';
import { dirname, join } from 'node:path';
import type { Env } from '../../core/env.js';
import { UserError } from '../../core/errors.js';
import { sha256Text } from '../../core/hashing.js';
import { populateAtomically } from '../../core/populate-atomically.js';
import { lastLine, run } from '../../core/process.js';

/**
 * The dev stage's Debian packages as a layer of files, never installed on
 * the host: apt resolves them against what the host already has (so the
 * layer holds only what is missing or newer), downloads them into our cache
 * (verifying each against the signed archive index, as it always does), and
 * dpkg-deb unpacks them. The tests' namespace lays the layer over /usr and
 * /etc (layout.ts); the host's own packages stay as they are.
 *
 * Maintainer scripts do not run. What they would do that tests notice is
 * done here: update-alternatives' links (iptables → iptables-nft, nc →
 * nc.openbsd), and ldconfig, which the namespace runs once the layer is in.
 */
export interface PackageLayer {
  /** <dir>/usr and <dir>/etc, to overlay; undefined when the host has every package already. */
  dir: string | undefined;
  /** The archives in the layer (name_version_arch.deb), for the summary and the key. */
  archives: string[];
  key: string;
}

/** Bumped when the way a layer is unpacked changes, so old layers are made again. */
const LAYER_FORMAT = 2;
/** Layers kept: a few, since two trees (a checkout and the module, or the test fixture) want different ones. */
const KEPT_LAYERS = 3;
/** The top-level folders a layer keeps: what the namespace overlays. */
const OVERLAID = ['usr', 'etc'] as const;

export function aptEnv(env: Env): Env {
  return { ...env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' };
}

/** What apt would fetch to install `packages` here: `'URI' file size hash` per archive. */
async function plannedArchives(packages: readonly string[], env: Env, signal?: AbortSignal): Promise<string[]> {
  const argv = ['apt-get', 'install', '-y', '-qq', '--print-uris', '--no-install-recommends', ...packages];
  let result = await run(argv, { env: aptEnv(env), ...(signal ? { signal } : {}) });
  if (result.exitCode !== 0) {
    // A fresh machine often has no package lists yet.
    await run(['apt-get', 'update', '-qq'], { env: aptEnv(env), ...(signal ? { signal } : {}) });
    result = await run(argv, { env: aptEnv(env), ...(signal ? { signal } : {}) });
  }
  if (result.exitCode !== 0) {
    const missing = /Unable to locate package (\S+)|Package '?(\S+?)'? has no installation candidate/.exec(result.stderr);
    const name = missing?.[1] ?? missing?.[2];
    throw new UserError(
      name
        ? `the dev container's package ${name} (moby's Dockerfile, dev stage) is not in this machine's apt sources`
        : `apt-get cannot resolve the dev container's packages: ${lastLine(result.stderr)}`,
      `Check with: apt-get install --print-uris --no-install-recommends ${name ?? packages.join(' ')}`,
    );
  }
  return result.stdout
    .split('\n')
    .filter((line) => line.startsWith("'"))
    .map((line) => line.split(' ').slice(1, 3).join(' '))
    .sort();
}

export async function ensurePackageLayer(packages: readonly string[], cacheDir: string, env: Env, signal?: AbortSignal): Promise<PackageLayer> {
  const planned = await plannedArchives(packages, env, signal);
  const archives = planned.map((line) => line.split(' ')[0] ?? '');
  const key = sha256Text(JSON.stringify({ LAYER_FORMAT, planned })).slice(0, 32);
  if (archives.length === 0) return { dir: undefined, archives, key };
  const root = join(cacheDir, 'dev-container', 'packages');
  const dir = join(root, key);
  if (existsSync(join(dir, 'layer.json'))) {
    await touchCacheEntry(dir);
    return { dir, archives, key };
  }

  const downloads = join(cacheDir, 'dev-container', 'apt-archives');
  await mkdir(join(downloads, 'partial'), { recursive: true });
  const fetched = await run(
    ['apt-get', 'install', '-y', '-qq', '--download-only', '--no-install-recommends', '-o', `Dir::Cache::archives=${downloads}`, ...packages],
    { env: aptEnv(env), ...(signal ? { signal } : {}) },
  );
  if (fetched.exitCode !== 0) throw new UserError(`apt-get could not download the dev container's packages: ${lastLine(fetched.stderr)}`);
  await populateAtomically(dir, async (temp) => {
    const alternatives: Alternative[] = [];
    for (const archive of archives) {
      const file = join(downloads, archive);
      const unpacked = await run(['dpkg-deb', '-x', file, temp], { ...(signal ? { signal } : {}) });
      if (unpacked.exitCode !== 0) throw new UserError(`dpkg-deb could not unpack ${file}: ${lastLine(unpacked.stderr)}`);
      alternatives.push(...(await packageAlternatives(file, signal)));
    }
    await mergeIntoUsr(temp);
    for (const entry of await readdir(temp))
      if (!(OVERLAID as readonly string[]).includes(entry)) await rm(join(temp, entry), { recursive: true, force: true });
    const linked = await linkAlternatives(temp, alternatives);
    await writeFile(join(temp, 'layer.json'), `${JSON.stringify({ packages, archives, alternatives: linked }, null, 2)}\n`);
  });
  await pruneCacheEntries(root, key, KEPT_LAYERS);
  // The unpacked layer is the cache; the archives would only double it.
  await rm(downloads, { recursive: true, force: true });
  return { dir, archives, key };
}

/** One `update-alternatives --install` (or --slave) link: the path and what it points to. */
export interface Alternative {
  link: string;
  name: string;
  path: string;
  priority: number;
}

/** The links a package's postinst installs with update-alternatives, slaves taking their master's priority. */
export function parseAlternatives(postinst: string): Alternative[] {
  const joined = postinst.replace(/\\\n/g, ' ');
  const result: Alternative[] = [];
  for (const line of joined.split('\n')) {
    const install = /update-alternatives\s+(?:--\S+\s+)*?--install\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)(.*)$/.exec(line);
    if (!install) continue;
    const [, link = '', name = '', path = '', priority = '0', rest = ''] = install;
    result.push({ link, name, path, priority: Number(priority) });
    for (const slave of rest.matchAll(/--slave\s+(\S+)\s+(\S+)\s+(\S+)/g)) {
      result.push({ link: slave[1] ?? '', name: slave[2] ?? '', path: slave[3] ?? '', priority: Number(priority) });
    }
  }
  return result;
}

async function packageAlternatives(archive: string, signal?: AbortSignal): Promise<Alternative[]> {
  const control = await mkdtemp(join(dirname(archive), 'control-'));
  try {
    const result = await run(['dpkg-deb', '-e', archive, control], { ...(signal ? { signal } : {}) });
    if (result.exitCode !== 0 || !existsSync(join(control, 'postinst'))) return [];
    return parseAlternatives(await readFile(join(control, 'postinst'), 'utf8'));
  } finally {
    await rm(control, { recursive: true, force: true });
  }
}

/** The path inside a layer for an absolute path on a merged-/usr host (/bin/nc → usr/bin/nc). */
function layerPath(layer: string, path: string): string {
  const merged = path.replace(/^\/(bin|sbin|lib|lib32|lib64|libx32)\//, '/usr/$1/');
  return join(layer, merged);
}

/** Each alternative's highest-priority choice, linked where the host has nothing at that path, as a freshly configured package would be. */
async function linkAlternatives(layer: string, alternatives: readonly Alternative[]): Promise<Alternative[]> {
  const best = new Map<string, Alternative>();
  for (const alternative of alternatives) {
    const current = best.get(alternative.link);
    if (!current || alternative.priority > current.priority) best.set(alternative.link, alternative);
  }
  const linked: Alternative[] = [];
  for (const alternative of best.values()) {
    const link = layerPath(layer, alternative.link);
    if (!existsSync(layerPath(layer, alternative.path)) && !existsSync(alternative.path)) continue; // a slave for docs a package does not ship
    if (pathExists(link) || pathExists(alternative.link)) continue;
    await mkdir(dirname(link), { recursive: true });
    await symlink(alternative.path, link);
    linked.push(alternative);
  }
  return linked.sort((a, b) => a.link.localeCompare(b.link));
}

function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Bookworm's packages still ship /bin, /sbin, /lib; on a merged-/usr host those are /usr's, so the layer keeps them there. */
async function mergeIntoUsr(layer: string): Promise<void> {
  for (const top of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    const from = join(layer, top);
    if (!existsSync(from)) continue;
    if (!lstatSync(`/${top}`, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new UserError(
        `/${top} is not a link into /usr on this machine`,
        "The dev container's packages are laid over /usr, which needs a merged-/usr system (Debian 12 and later).",
      );
    }
    await mkdir(join(layer, 'usr', top), { recursive: true });
    const copied = await run(['cp', '-a', `${from}/.`, join(layer, 'usr', top)]);
    if (copied.exitCode !== 0) throw new UserError(`could not merge ${from} into usr/${top}: ${lastLine(copied.stderr)}`);
    await rm(from, { recursive: true, force: true });
  }
}
