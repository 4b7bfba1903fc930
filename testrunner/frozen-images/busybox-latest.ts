import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { sha256Text } from '../../core/hashing.js';
import { ensureRequirements, type Requirement } from '../../core/requirements.js';
import { busyboxLayout, GROUP, PASSWD, SHADOW } from './busybox-layout.js';
import { hostDebianMirrors, installedVersion, requireInstalledVersion, step } from './host.js';
import { layoutImage, RECIPE_VERSION, type Recipe, type RecipeContext } from './recipe.js';

/**
 * moby's busybox:latest (sha256:95cf004f…) is the official image of
 * BusyBox 1.31.1. The machine's Debian mirror carries 1.30.1 (which no
 * longer builds against glibc 2.31 and later: stime() is gone), 1.35.0 and
 * 1.37.0. 1.35.0 is the nearest that builds, and it keeps what moby's tests
 * lean on and 1.37 dropped: chown's `user.group` form (`chown
 * dockerio.dockerio`, in 45 integration-cli builds). The tarball is
 * busybox.net's, as Debian's orig.tar.bz2, checked against this sha256.
 */
export const BUSYBOX_SOURCE = {
  version: '1.35.0',
  sha256: 'faeeb244c35a348a334f4a59e44626ee870fb07b6884d68c10ae8bc19f83a694',
  poolPath: 'pool/main/b/busybox/busybox_1.35.0.orig.tar.bz2',
} as const;

/** docker-library/busybox's changes to `make defconfig` (its uclibc variant, which `latest` is). */
export const CONFIG_SET = [
  'CONFIG_AR=y',
  'CONFIG_FEATURE_AR_CREATE=y',
  'CONFIG_FEATURE_AR_LONG_FILENAMES=y',
  'CONFIG_LAST_SUPPORTED_WCHAR=0',
  'CONFIG_STATIC=y',
  'CONFIG_INOTIFYD=y',
] as const;
export const CONFIG_UNSET = ['CONFIG_FEATURE_SYNC_FANCY'] as const;

export const UTC_ZONEINFO = '/usr/share/zoneinfo/UTC';

const BUILD_REQUIREMENTS: Requirement[] = [
  { kind: 'command', command: 'gcc', aptPackage: 'gcc', why: 'busybox:latest is compiled from source' },
  { kind: 'command', command: 'make', aptPackage: 'make', why: 'busybox:latest is compiled from source' },
  { kind: 'command', command: 'bzip2', aptPackage: 'bzip2', why: 'the busybox source is a .tar.bz2' },
  {
    kind: 'file',
    anyOf: ['/usr/lib/x86_64-linux-gnu/libc.a', '/usr/lib/aarch64-linux-gnu/libc.a', '/usr/lib/libc.a'],
    aptPackage: 'libc6-dev',
    why: 'busybox:latest is linked statically',
  },
  { kind: 'file', anyOf: [UTC_ZONEINFO], aptPackage: 'tzdata', why: "the busybox images' /etc/localtime is UTC" },
];

/** Applies the set/unset lists to a .config the way the official builder's sed lines do. */
export function tweakConfig(config: string): string {
  let text = config;
  for (const name of CONFIG_UNSET) text = text.replace(new RegExp(`^${name}=.*$`, 'm'), `# ${name} is not set`);
  for (const setting of CONFIG_SET) {
    const name = setting.slice(0, setting.indexOf('='));
    const line = new RegExp(`^(${name}=.*|# ${name} is not set)$`, 'm');
    text = line.test(text) ? text.replace(line, setting) : `${text.trimEnd()}\n${setting}\n`;
  }
  return text;
}

/**
 * busybox:latest: the official image is BusyBox built statically with
 * docker-library's configuration (405 applets, adduser and addgroup among
 * them). Debian's busybox-static has a smaller configuration (no adduser,
 * addgroup, deluser, delgroup, …), so the same release is built here, with
 * the host's gcc and static glibc instead of buildroot's uClibc.
 */
export const busyboxLatest: Recipe = {
  id: 'busybox-latest',
  tags: ['busybox:latest'],
  how: `BusyBox ${BUSYBOX_SOURCE.version} built statically (defconfig + docker-library's changes)`,
  async inputs(context) {
    await ensureRequirements(BUILD_REQUIREMENTS, context.install);
    const gcc = await step(context, ['gcc', '-dumpfullversion']);
    const machine = await step(context, ['gcc', '-dumpmachine']);
    return {
      recipe: RECIPE_VERSION,
      revision: 1,
      source: BUSYBOX_SOURCE,
      set: CONFIG_SET,
      unset: CONFIG_UNSET,
      gcc: `${gcc.stdout.trim()} ${machine.stdout.trim()}`,
      libc: await requireInstalledVersion('libc6-dev', context),
      kernelHeaders: (await installedVersion('linux-libc-dev', context)) ?? 'none',
      accounts: sha256Text(PASSWD + GROUP + SHADOW),
      localtime: sha256Text(await readFile(UTC_ZONEINFO, 'latin1')),
    };
  },
  async make(context) {
    const tree = await fetchAndExtract(context);
    const busybox = await buildStatic(tree, context);
    const applets = (await step(context, [busybox, '--list'])).stdout.split('\n').filter(Boolean);
    if (!applets.includes('adduser'))
      throw new UserError('the busybox built for busybox:latest has no adduser applet; its configuration is not the official one');
    const layout = busyboxLayout({ busybox: await readFile(busybox), applets, localtime: await readFile(UTC_ZONEINFO) });
    const created = new Date((await sourceDateEpoch(tree)) * 1000).toISOString().replace('.000Z', 'Z');
    return layoutImage(layout, context.workDir, {
      tags: this.tags,
      cmd: ['sh'],
      created,
      createdBy: `BusyBox ${BUSYBOX_SOURCE.version} (glibc, static), built by moby-make`,
    });
  },
};

async function fetchAndExtract(context: RecipeContext): Promise<string> {
  const mirrors = await hostDebianMirrors(context);
  const tarball = join(context.workDir, `busybox-${BUSYBOX_SOURCE.version}.tar.bz2`);
  const uri = `${mirrors.archive.replace(/\/+$/, '')}/${BUSYBOX_SOURCE.poolPath}`;
  // apt's own downloader: the machine's proxies and methods, and the hash checked before the file is kept.
  await step(context, ['/usr/lib/apt/apt-helper', 'download-file', uri, tarball, `SHA256:${BUSYBOX_SOURCE.sha256}`]);
  await step(context, ['tar', '-xjf', tarball, '-C', context.workDir, '--no-same-owner']);
  const tree = join(context.workDir, `busybox-${BUSYBOX_SOURCE.version}`);
  if (!(await readdir(tree).catch(() => undefined))) throw new UserError(`the busybox tarball has no busybox-${BUSYBOX_SOURCE.version}/ folder`);
  return tree;
}

/** The tarball's own folder time, as the official builder uses for SOURCE_DATE_EPOCH. */
async function sourceDateEpoch(tree: string): Promise<number> {
  return Math.floor((await stat(tree)).mtimeMs / 1000);
}

async function buildStatic(tree: string, context: RecipeContext): Promise<string> {
  const env = {
    PATH: context.env.PATH,
    HOME: context.env.HOME,
    LC_ALL: 'C',
    SOURCE_DATE_EPOCH: String(await sourceDateEpoch(tree)),
  };
  await step(context, ['make', 'defconfig'], { cwd: tree, env });
  const configFile = join(tree, '.config');
  await writeFile(configFile, tweakConfig(await readFile(configFile, 'utf8')));
  await step(context, ['make', 'oldconfig'], { cwd: tree, env, input: '\n'.repeat(100) });
  const config = await readFile(configFile, 'utf8');
  for (const setting of CONFIG_SET) if (!config.split('\n').includes(setting)) throw new UserError(`busybox's make oldconfig dropped ${setting}`);
  for (const name of CONFIG_UNSET) if (config.includes(`\n${name}=`)) throw new UserError(`busybox's make oldconfig kept ${name}`);
  await step(context, ['make', `-j${availableParallelism()}`, 'busybox'], { cwd: tree, env });
  return join(tree, 'busybox');
}
