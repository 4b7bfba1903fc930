import { mkdir, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { sha256File, sha256Text } from '../../core/hashing.js';
import { ensureRequirements } from '../../core/requirements.js';
import { run } from '../../core/process.js';
import { busyboxLayout, GROUP, NSSWITCH, PASSWD, SHADOW } from './busybox-layout.js';
import { aptCandidate, requireInstalledVersion, step } from './host.js';
import type { Layout } from './layout.js';
import { layoutImage, RECIPE_VERSION, type Recipe, type RecipeContext } from './recipe.js';
import { UTC_ZONEINFO } from './busybox-latest.js';

const GETCONF = '/usr/bin/getconf';
const CREATED = '2024-09-26T21:31:42Z';

/**
 * busybox:glibc: Debian's dynamically linked busybox (package `busybox`,
 * fetched with `apt-get download`, never installed: it conflicts with
 * busybox-static) and, as docker-library's glibc variant has them, getconf,
 * /etc/nsswitch.conf, glibc's NSS modules and exactly the libraries `ldd`
 * names, copied from this machine into /lib with the loader (/lib64 → lib).
 */
export const busyboxGlibc: Recipe = {
  id: 'busybox-glibc',
  tags: ['busybox:glibc'],
  how: "Debian's dynamic busybox with the host's glibc libraries (ldd)",
  async inputs(context) {
    await ensureRequirements(
      [{ kind: 'file', anyOf: [UTC_ZONEINFO], aptPackage: 'tzdata', why: "the busybox images' /etc/localtime is UTC" }],
      context.install,
    );
    return {
      recipe: RECIPE_VERSION,
      revision: 2,
      busybox: await aptCandidate('busybox', context, join(context.cacheDir, 'apt')),
      libc: await requireInstalledVersion('libc6', context),
      getconf: await requireInstalledVersion('libc-bin', context),
      accounts: sha256Text(PASSWD + GROUP + SHADOW + NSSWITCH),
      localtime: sha256Text(await readFile(UTC_ZONEINFO, 'latin1')),
    };
  },
  async make(context) {
    const busybox = await downloadBusybox(context);
    const applets = (await step(context, [busybox, '--list'])).stdout.split('\n').filter(Boolean);
    const layout = busyboxLayout({ busybox: await readFile(busybox), applets, localtime: await readFile(UTC_ZONEINFO) });
    layout.file('bin/getconf', await readFile(GETCONF), 0o755);
    layout.file('etc/nsswitch.conf', NSSWITCH);
    await addLibraries(layout, [busybox, GETCONF, ...(await nssModules(context))], context);
    return layoutImage(layout, context.workDir, {
      tags: this.tags,
      cmd: ['sh'],
      created: CREATED,
      createdBy: "Debian's busybox (glibc, dynamic) with the host's libraries, made by moby-make",
    });
  },
};

async function downloadBusybox(context: RecipeContext): Promise<string> {
  const candidate = await aptCandidate('busybox', context, join(context.cacheDir, 'apt'));
  const download = join(context.workDir, 'deb');
  await mkdir(download, { recursive: true });
  await step(context, ['apt-get', 'download', `busybox=${candidate.version}`], { cwd: download, env: { ...context.env, LC_ALL: 'C' } });
  const deb = (await readdir(download)).find((name) => name.endsWith('.deb'));
  if (!deb) throw new UserError(`apt-get download busybox=${candidate.version} left no .deb`);
  const found = await sha256File(join(download, deb));
  if (found !== candidate.sha256) throw new UserError(`${deb} has sha256 ${found}, but apt's index says ${candidate.sha256}`);
  const tree = join(context.workDir, 'busybox-deb');
  await step(context, ['dpkg-deb', '-x', join(download, deb), tree]);
  return join(tree, 'bin', 'busybox');
}

/**
 * glibc's own NSS modules and libpthread, which the official glibc variant
 * copies besides what ldd names (other packages' modules, such as
 * libnss_systemd, are not glibc's and would drag their own libraries in).
 */
async function nssModules(context: RecipeContext): Promise<string[]> {
  const multiarch = (await step(context, ['gcc', '-print-multiarch']).catch(() => undefined))?.stdout.trim();
  const dir = `/lib/${multiarch || (process.arch === 'x64' ? 'x86_64-linux-gnu' : 'aarch64-linux-gnu')}`;
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((name) => /^(libnss_(compat|dns|files|hesiod)|libpthread)\.so\.\d+$/.test(name)).map((name) => join(dir, name));
}

/** What ldd says a binary loads: library paths and the loader (the line without "=>"). */
export function parseLdd(output: string): string[] {
  const paths: string[] = [];
  for (const line of output.split('\n')) {
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const loader = /^\s*(\/\S+)\s+\(/.exec(line);
    const path = arrow?.[1] ?? loader?.[1];
    if (path) paths.push(path);
  }
  return paths;
}

/** Copies every library the files need, transitively, into /lib under its own name; /lib64 points at /lib for the loader. */
async function addLibraries(layout: Layout, files: string[], context: RecipeContext): Promise<void> {
  const queue = [...files];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const isInput = files.includes(file);
    if (!isInput || file.includes('/libnss_') || file.includes('/libpthread')) {
      const target = `lib/${basename(file)}`;
      if (!layout.has(target)) layout.file(target, await readFile(file), 0o755);
    }
    const ldd = await run(['ldd', file], { env: { ...context.env, LC_ALL: 'C' }, signal: context.signal });
    // "not a dynamic executable" (a static file) needs nothing.
    if (ldd.exitCode === 0) queue.push(...parseLdd(ldd.stdout));
  }
  layout.symlink('lib64', 'lib');
}
