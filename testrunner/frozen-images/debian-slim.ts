import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureRequirements } from '../../core/requirements.js';
import { hostPlatform } from './docker-archive.js';
import { debianSources } from './debian-mirror.js';
import { hostDebianMirrors, requireInstalledVersion, step } from './host.js';
import { DEFAULT_PATH, RECIPE_VERSION, type Recipe } from './recipe.js';

export const DEBIAN_SUITE = 'trixie';

/**
 * What debuerreotype's "slim" leaves out of the official image (dpkg never
 * unpacks these): documentation except copyright files, man and info pages,
 * translations.
 */
export const SLIM_EXCLUDES = [
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/linda/*',
  'path-exclude=/usr/share/lintian/overrides/*',
  'path-exclude=/usr/share/locale/*',
  'path-exclude=/usr/share/man/*',
] as const;

/** Fixed, so the same packages give the same layer and image ID (mmdebstrap honours it too). */
const SOURCE_DATE_EPOCH = 1754006400; // 2025-08-01, trixie's first months
const CREATED = new Date(SOURCE_DATE_EPOCH * 1000).toISOString().replace('.000Z', 'Z');

/**
 * debian:trixie-slim: the minbase variant (Priority: required plus apt) made
 * by mmdebstrap from the Debian mirror this machine's apt already uses, with
 * the slim excludes, and the mirror written into the image's
 * /etc/apt/sources.list.d/debian.sources so that moby's tests that
 * `apt-get install` inside it (TestNoNewPrivileges, TestExecSocketDenied, …)
 * reach the same mirror. The package set is what the mirror serves when the
 * image is first made; it stays cached as it was, as a frozen image does.
 */
export const debianSlim: Recipe = {
  id: 'debian-trixie-slim',
  tags: [`debian:${DEBIAN_SUITE}-slim`],
  how: `mmdebstrap --variant=minbase ${DEBIAN_SUITE} from the machine's Debian mirror`,
  async inputs(context) {
    await ensureRequirements(
      [{ kind: 'command', command: 'mmdebstrap', aptPackage: 'mmdebstrap', why: 'debian:trixie-slim is made with it' }],
      context.install,
    );
    const mirrors = await hostDebianMirrors(context);
    return {
      recipe: RECIPE_VERSION,
      revision: 1,
      suite: DEBIAN_SUITE,
      sources: debianSources(mirrors, DEBIAN_SUITE),
      excludes: SLIM_EXCLUDES,
      mmdebstrap: await requireInstalledVersion('mmdebstrap', context),
      epoch: SOURCE_DATE_EPOCH,
    };
  },
  async make(context) {
    const mirrors = await hostDebianMirrors(context);
    const sources = join(context.workDir, 'debian.sources');
    await writeFile(sources, debianSources(mirrors, DEBIAN_SUITE));
    const rootfs = join(context.workDir, 'rootfs');
    const env = { ...context.env, SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH), LC_ALL: 'C' };
    await step(
      context,
      [
        'mmdebstrap',
        '--variant=minbase',
        '--mode=root',
        '--format=directory',
        ...SLIM_EXCLUDES.map((option) => `--dpkgopt=${option}`),
        // The image's sources are the ones it was made from, under the official image's file name.
        `--customize-hook=rm -f "$1"/etc/apt/sources.list.d/0000* && cp ${shellQuote(sources)} "$1"/etc/apt/sources.list.d/debian.sources`,
        // The build machine's own files must not end up in the image (mmdebstrap copies them in).
        '--customize-hook=rm -f "$1"/etc/resolv.conf "$1"/etc/hostname',
        DEBIAN_SUITE,
        rootfs,
        sources,
      ],
      { env },
    );
    const layer = join(context.workDir, 'layer.tar');
    // Sorted, one clamp on mtimes, numeric owners, no atime/ctime: the same tree gives the same layer.
    // /dev is left empty, as in the official image; the runtime mounts its own.
    await step(context, [
      'tar',
      '--sort=name',
      `--mtime=@${SOURCE_DATE_EPOCH}`,
      '--clamp-mtime',
      '--numeric-owner',
      '--xattrs',
      '--xattrs-include=security.capability',
      '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
      '--exclude=./dev/*',
      '-C',
      rootfs,
      '-cf',
      layer,
      '.',
    ]);
    return {
      layerTar: layer,
      spec: {
        tags: this.tags,
        platform: hostPlatform(),
        config: { Cmd: ['bash'], Env: [DEFAULT_PATH] },
        created: CREATED,
        createdBy: `mmdebstrap --variant=minbase ${DEBIAN_SUITE} (slim), made by moby-make`,
      },
    };
  },
};

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
