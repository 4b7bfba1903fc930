import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readSystemAptSources } from '../../core/apt-sources.js';
import { UserError } from '../../core/errors.js';
import { sha256Text } from '../../core/hashing.js';
import { readJsonFile } from '../../core/json-file.js';
import { run, type RunResult } from '../../core/process.js';
import { hostPlatform } from '../../core/platform.js';
import { debianMirrors, osRelease, type DebianMirrors } from './debian-mirror.js';
import type { RecipeContext } from './recipe.js';

/** Runs a step of a recipe with its output in the recipe's log; a failure names the step and shows the log's end. */
export async function step(
  context: RecipeContext,
  argv: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {},
): Promise<RunResult> {
  context.log.write(`$ ${argv.join(' ')}\n`);
  const result = await run(argv, { cwd: options.cwd, env: options.env ?? { ...context.env }, input: options.input, signal: context.signal, log: context.log });
  if (result.exitCode !== 0) {
    const tail = (result.stderr || result.stdout).trimEnd().split('\n').slice(-15);
    throw new UserError(
      `${argv.slice(0, 3).join(' ')} failed (exit ${result.exitCode}):\n${tail.join('\n')}`,
      `The full output is in ${context.log.path as string}.`,
    );
  }
  return result;
}

/** The installed version of a Debian package, or undefined. */
export async function installedVersion(pkg: string, context: Pick<RecipeContext, 'env' | 'signal'>): Promise<string | undefined> {
  const result = await run(['dpkg-query', '-W', '-f=${Version}', pkg], { env: { ...context.env }, signal: context.signal });
  return result.exitCode === 0 && result.stdout.trim() ? result.stdout.trim() : undefined;
}

export async function requireInstalledVersion(pkg: string, context: Pick<RecipeContext, 'env' | 'signal'>): Promise<string> {
  const version = await installedVersion(pkg, context);
  if (!version) throw new UserError(`the Debian package ${pkg} is not installed`, `Run as root: apt-get install ${pkg}`);
  return version;
}

export interface AptCandidate {
  version: string;
  sha256: string;
  filename: string;
}

const candidateSchema = z.object({ fingerprint: z.string(), candidate: z.object({ version: z.string(), sha256: z.string(), filename: z.string() }) });

/**
 * What `apt-get download PKG` would fetch: version and the sha256 from the
 * signed index. `apt-cache show` rebuilds apt's cache each time (seconds
 * here), so the answer is remembered in `memoDir` for as long as apt's
 * package lists are the same files.
 */
export async function aptCandidate(pkg: string, context: Pick<RecipeContext, 'env' | 'signal'>, memoDir: string): Promise<AptCandidate> {
  const fingerprint = await aptListsFingerprint(context);
  const memo = join(memoDir, `apt-candidate-${pkg}.json`);
  const remembered = readJsonFile(memo, candidateSchema);
  if (remembered && remembered.fingerprint === fingerprint) return remembered.candidate;
  // This machine's architecture alone: apt reads every architecture's package lists otherwise (a cross-building machine
  // has arm64's too), and the image takes the native package. Half of the 0.7 s apt-cache takes without its binary cache.
  const native = `APT::Architectures=${hostPlatform().debianArch}`;
  const result = await run(['apt-cache', '-o', native, 'show', '--no-all-versions', pkg], { env: { ...context.env, LC_ALL: 'C' }, signal: context.signal });
  const field = (name: string) => new RegExp(`^${name}: (.+)$`, 'm').exec(result.stdout)?.[1]?.trim();
  const version = field('Version');
  const sha256 = field('SHA256');
  const filename = field('Filename');
  if (result.exitCode !== 0 || !version || !sha256 || !filename) {
    throw new UserError(`apt knows no package ${pkg} to download: ${result.stderr.trim().split('\n').pop() ?? ''}`, 'Run as root: apt-get update');
  }
  const candidate = { version, sha256, filename };
  await mkdir(memoDir, { recursive: true });
  await writeFile(memo, `${JSON.stringify({ fingerprint, candidate })}\n`);
  return candidate;
}

/** Names, sizes and times of apt's package lists: what `apt-get update` changes. */
async function aptListsFingerprint(context: Pick<RecipeContext, 'env' | 'signal'>): Promise<string> {
  const config = await run(['apt-config', 'shell', 'LISTS', 'Dir::State::Lists/d'], { env: { ...context.env }, signal: context.signal });
  const lists = /^LISTS='([^']*)'/m.exec(config.stdout)?.[1] ?? '/var/lib/apt/lists/';
  const names = (await readdir(lists).catch(() => [] as string[])).sort();
  const entries: string[] = [];
  for (const name of names) {
    const info = await stat(join(lists, name)).catch(() => undefined);
    if (info?.isFile()) entries.push(`${name} ${info.size} ${info.mtimeMs}`);
  }
  return sha256Text(entries.join('\n'));
}

/** The Debian mirrors this machine's apt uses, found by its own release's suites. */
export async function hostDebianMirrors(context: Pick<RecipeContext, 'env' | 'signal'>): Promise<DebianMirrors> {
  const release = osRelease(await readFile('/etc/os-release', 'utf8').catch(() => ''));
  if (release.id !== 'debian' || !release.codename) {
    throw new UserError(
      `this machine is not Debian (/etc/os-release ID=${release.id ?? 'unknown'}), so its apt sources name no Debian mirror`,
      "The frozen images are made from a Debian mirror; run on Debian, or load moby's frozen images from a registry.",
    );
  }
  const sources = await readSystemAptSources(context.env, context.signal);
  return debianMirrors(sources.files, release.codename);
}
