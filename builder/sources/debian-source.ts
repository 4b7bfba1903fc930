import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { sha256File } from '../../core/hashing.js';
import type { DebianSourceSpec, ResolvedSource } from '../model.js';
import { lastLine, run } from '../../core/process.js';
import { populateAtomically } from '../../core/populate-atomically.js';
import { withWaitingLock } from './cache.js';
import type { ResolveContext } from './resolver.js';
import { readSystemAptSources, type SourceFile } from '../../core/apt-sources.js';

/**
 * The upstream tarball of a Debian source package, fetched with the
 * machine's own apt and verified against a pinned sha256 before anything is
 * extracted.
 *
 * The system's apt configuration is read, never written: the deb-src entries
 * are derived from the mirrors the machine already uses and written into a
 * private folder in the cache, and apt-get runs with options that point its
 * source list, package lists and caches there. Everything else — proxies,
 * keyrings (Signed-By and trusted.gpg.d), signature checks — is the system's,
 * untouched: apt verifies the Release signature and the file hashes as it
 * always does, and the pin is checked on top.
 */
export async function resolveDebianSource(spec: DebianSourceSpec, context: ResolveContext): Promise<ResolvedSource> {
  const pinned = spec.sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(pinned)) {
    throw new UserError(`debian-source ${spec.package}: the pin '${spec.sha256}' is not a sha256`, `Take the sha256 of ${spec.file} from the package's .dsc.`);
  }
  if (basename(spec.file) !== spec.file || spec.file.startsWith('.')) {
    throw new UserError(`debian-source ${spec.package}: '${spec.file}' is not a file name`);
  }
  const root = join(context.cacheDir, 'debian-source');
  const resolved = predictDebianSource(spec, context);
  const tree = resolved.dir;
  if (existsSync(tree)) {
    context.log.write(`==> debian-source: ${spec.file} (sha256 ${pinned}) is in the cache (${tree}); not fetching\n`);
    return resolved;
  }

  await mkdir(context.workDir, { recursive: true });
  const download = await mkdtemp(join(context.workDir, 'debian-source-'));
  try {
    const tarball = await withWaitingLock(join(root, 'apt.lock'), context.signal, () => fetchWithApt(spec, join(root, 'apt'), download, context));
    await populateAtomically(tree, (temp) => verifyAndExtract(tarball, pinned, temp, context));
  } finally {
    await rm(download, { recursive: true, force: true });
  }
  return resolved;
}

/** What resolving gives, known from the pin alone: the tree is the pinned tarball's, wherever it is fetched from. */
export function predictDebianSource(spec: DebianSourceSpec, context: Pick<ResolveContext, 'cacheDir'>): ResolvedSource {
  const pinned = spec.sha256.toLowerCase();
  return {
    kind: 'debian-source',
    dir: join(context.cacheDir, 'debian-source', 'trees', pinned),
    identity: `sha256:${pinned}`,
    version: spec.upstreamVersion,
    ...(spec.commit ? { commit: spec.commit } : {}),
    dirty: false,
  };
}

/**
 * Checks the tarball against the pin and only then extracts it into `into`.
 * Returns the tree's root: the tarball's single top-level folder when it has
 * one (tini-0.19.0/), else `into` itself.
 */
export async function verifyAndExtract(tarball: string, sha256: string, into: string, context: Pick<ResolveContext, 'log' | 'signal'>): Promise<string> {
  const found = await sha256File(tarball);
  if (found !== sha256.toLowerCase()) {
    throw new UserError(
      `${basename(tarball)} has sha256 ${found}, but the component pins ${sha256.toLowerCase()}; refusing to extract it`,
      'Either the download was tampered with or the pin is wrong. Check the Checksums-Sha256 field of the package .dsc.',
    );
  }
  context.log.write(`==> debian-source: ${basename(tarball)} matches the pinned sha256 ${found}\n`);
  const extracted = join(into, 'tree');
  await mkdir(extracted);
  const tar = await run(['tar', '-xf', tarball, '-C', extracted, '--no-same-owner', '--no-same-permissions'], { signal: context.signal, log: context.log });
  if (tar.exitCode !== 0) throw new UserError(`cannot extract ${basename(tarball)}: ${lastLine(tar.stderr)}`);
  const entries = await readdir(extracted, { withFileTypes: true });
  const only = entries.length === 1 ? entries[0] : undefined;
  return only?.isDirectory() ? join(extracted, only.name) : extracted;
}

/** The private apt layout: sources, lists and caches of our own; configuration and keys of the system. */
interface PrivateApt {
  config: string;
  sourceParts: string;
}

async function fetchWithApt(spec: DebianSourceSpec, aptRoot: string, download: string, context: ResolveContext): Promise<string> {
  const apt = await preparePrivateApt(aptRoot, context);
  const env = { ...context.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' };
  const aptGet = (args: string[], cwd: string) => {
    context.log.write(`$ apt-get -c ${apt.config} ${args.join(' ')}\n`);
    return run(['apt-get', '-c', apt.config, ...args], { cwd, env, log: context.log, signal: context.signal });
  };

  // Refresh the private Sources lists; an entry without deb-src on its mirror fails alone.
  const update = await aptGet(['update'], aptRoot);
  const updateErrors = update.stdout
    .concat(update.stderr)
    .split('\n')
    .filter((line) => /^(E|Err):/.test(line));

  const target = `${spec.package}=${spec.version}`;
  const source = await aptGet(['source', '--download-only', target], download);
  const tarball = join(download, spec.file);
  if (source.exitCode !== 0 || !existsSync(tarball)) {
    const got = (await readdir(download)).join(', ') || 'nothing';
    const reason = source.exitCode !== 0 ? lastLine(source.stderr || source.stdout) : `it downloaded ${got}, not ${spec.file}`;
    throw new UserError(
      `apt-get source ${target} failed: ${reason}`,
      [
        updateErrors.length > 0 ? `apt-get update reported:\n${updateErrors.join('\n')}` : '',
        `The deb-src entries were derived from the system's apt sources into ${apt.sourceParts}; see the component's log.`,
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }
  return tarball;
}

async function preparePrivateApt(aptRoot: string, context: ResolveContext): Promise<PrivateApt> {
  const system = await readSystemAptSources(context.env, context.signal);
  const derived = deriveDebSrc(system.files);
  if (!derived.deb822 && !derived.oneLine) {
    throw new UserError(
      `no apt sources found in ${system.list} or ${system.parts}`,
      'debian-source needs at least one Debian mirror in the system apt configuration.',
    );
  }

  const sourceParts = join(aptRoot, 'sources.list.d');
  const lists = join(aptRoot, 'lists');
  const cache = join(aptRoot, 'cache');
  for (const dir of [sourceParts, join(lists, 'partial'), join(cache, 'archives', 'partial')]) await mkdir(dir, { recursive: true });
  for (const stale of await readdir(sourceParts)) await rm(join(sourceParts, stale), { force: true });
  if (derived.deb822) await writeFile(join(sourceParts, 'moby-make.sources'), derived.deb822);
  if (derived.oneLine) await writeFile(join(sourceParts, 'moby-make.list'), derived.oneLine);
  await writeFile(join(aptRoot, 'sources.list'), '');

  // Read after the system's apt.conf(.d), so these win; `-c` is apt's own way to add a config file.
  const config = join(aptRoot, 'apt.conf');
  await writeFile(config, privateAptConfig(aptRoot));
  return { config, sourceParts };
}

/**
 * apt configuration that moves every file apt would write into `aptRoot`.
 * The system's post-update hooks (cache cleaners, appstream, packagekit) act
 * on the system's lists, not ours, so they are cleared for these runs. Nothing
 * here touches verification.
 */
export function privateAptConfig(aptRoot: string): string {
  const quote = (path: string) => `"${path.replace(/["\\]/g, '')}"`;
  return [
    `Dir::Etc::SourceList ${quote(join(aptRoot, 'sources.list'))};`,
    `Dir::Etc::SourceParts ${quote(join(aptRoot, 'sources.list.d'))};`,
    `Dir::State::Lists ${quote(join(aptRoot, 'lists'))};`,
    `Dir::Cache ${quote(join(aptRoot, 'cache'))};`,
    `Dir::Cache::pkgcache "";`,
    `Dir::Cache::srcpkgcache "";`,
    `#clear APT::Update::Pre-Invoke;`,
    `#clear APT::Update::Post-Invoke;`,
    `#clear APT::Update::Post-Invoke-Success;`,
    '',
  ].join('\n');
}

/**
 * deb-src entries for the mirrors in the system's source files: deb822
 * stanzas are kept as they are (Signed-By, Architectures, comments and all)
 * with `Types` set to deb-src; one-line `deb [options] uri suite components`
 * becomes `deb-src [options] uri suite components`. Disabled stanzas and
 * commented lines are left out; existing deb-src entries are kept.
 */
export function deriveDebSrc(files: readonly SourceFile[]): { deb822: string; oneLine: string } {
  const stanzas: string[] = [];
  const lines: string[] = [];
  for (const file of files) {
    if (file.name.endsWith('.sources')) {
      for (const stanza of file.text.split(/\n[ \t]*\n/)) {
        const derived = debSrcStanza(stanza);
        if (derived && !stanzas.includes(derived)) stanzas.push(derived);
      }
    } else {
      for (const raw of file.text.split('\n')) {
        const line = raw.replace(/#.*$/, '').trim();
        const match = /^deb(?:-src)?(\s.*)$/.exec(line);
        if (!match?.[1]) continue;
        const derived = `deb-src${match[1].replace(/\s+/g, ' ')}`;
        if (!lines.includes(derived)) lines.push(derived);
      }
    }
  }
  return { deb822: stanzas.map((s) => `${s}\n`).join('\n'), oneLine: lines.map((l) => `${l}\n`).join('') };
}

function debSrcStanza(stanza: string): string | undefined {
  const lines = stanza.split('\n').filter((line) => line.trim() !== '');
  const field = (name: string) => {
    const line = lines.find((l) => new RegExp(`^${name}:`, 'i').test(l));
    return line?.slice(name.length + 1).trim();
  };
  const types = field('Types')?.split(/\s+/) ?? [];
  if (!types.includes('deb') && !types.includes('deb-src')) return undefined;
  if (/^(no|false|0)$/i.test(field('Enabled') ?? 'yes')) return undefined;
  if (!field('URIs') || !field('Suites')) return undefined;
  return lines.map((line) => (/^Types:/i.test(line) ? 'Types: deb-src' : line)).join('\n');
}
