import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { gzipSync, constants as zlib } from 'node:zlib';
import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import { run } from '../core/process.js';
import type { DebPackage } from './layout.js';

/** Where each of a package's files comes from on this machine, already checked against the bundle's manifest. */
export interface DebInputs {
  pkg: DebPackage;
  version: string;
  architecture: string;
  /** Absolute source path per installed path (`/usr/bin/dockerd` → `bundles/binary-daemon/dockerd`). */
  files: ReadonlyMap<string, string>;
  licenseText: string;
  /** Whether any ELF file needs the dynamic loader (then the package depends on libc6). */
  dynamic: boolean;
  /** The line of the changelog entry saying what the package was built from. */
  builtFrom: string;
  distroCodename: string;
  epochSeconds: number;
}

const MAINTAINER = 'Docker <support@docker.com>';

/**
 * One .deb the way docker-ce-packaging's debhelper run lays it out, built by
 * `dpkg-deb` from a staged tree: the package's files, its Debian copyright
 * and changelog, lintian overrides, md5sums, and the maintainer scripts
 * dh_installsystemd would write for its units. Every mtime is the release's
 * epoch and owners are root, so the same inputs give the same bytes.
 */
export async function buildDeb(inputs: DebInputs, stageRoot: string, target: string, env: Env): Promise<void> {
  const { pkg } = inputs;
  const stage = join(stageRoot, pkg.name);
  for (const file of pkg.files) {
    const source = inputs.files.get(file.to);
    if (!source) throw new Error(`no source for ${file.to} of ${pkg.name}`);
    const into = join(stage, file.to);
    await mkdir(dirname(into), { recursive: true });
    if (file.rewrite) {
      const text = await readFile(source, 'utf8');
      if (!text.includes(file.rewrite[0]))
        throw new UserError(
          `${source} no longer contains ${file.rewrite[0]}, which ${pkg.name} rewrites to ${file.rewrite[1]}`,
          'Update release/layout.ts for this version.',
        );
      await writeFile(into, text.replaceAll(file.rewrite[0], file.rewrite[1]));
    } else {
      await copyFile(source, into);
    }
    await chmod(into, file.mode);
  }
  const doc = join(stage, 'usr/share/doc', pkg.name);
  await mkdir(doc, { recursive: true });
  await writeFile(join(doc, 'copyright'), copyright(inputs));
  await writeFile(join(doc, 'changelog.Debian.gz'), gzipSync(changelog(inputs), { level: zlib.Z_BEST_COMPRESSION }));
  if (pkg.lintianOverrides.length > 0) {
    const overrides = join(stage, 'usr/share/lintian/overrides');
    await mkdir(overrides, { recursive: true });
    await writeFile(join(overrides, pkg.name), pkg.lintianOverrides.map((o) => `# ${o.why}\n${pkg.name}: ${o.tag}\n`).join(''));
  }

  const control = join(stage, 'DEBIAN');
  await mkdir(control, { recursive: true });
  const payload = (await walk(stage)).filter((path) => !path.startsWith('DEBIAN/'));
  await writeFile(join(control, 'md5sums'), (await Promise.all(payload.map(async (path) => `${md5(await readFile(join(stage, path)))}  ${path}\n`))).join(''));
  const installedKiB = Math.ceil((await Promise.all(payload.map(async (path) => (await stat(join(stage, path))).size))).reduce((a, b) => a + b, 0) / 1024);
  await writeFile(join(control, 'control'), controlFile(inputs, installedKiB));
  for (const [script, text] of Object.entries(maintainerScripts(pkg))) {
    await writeFile(join(control, script), text);
    await chmod(join(control, script), 0o755);
  }
  for (const path of [...(await walk(stage)), ...(await dirs(stage))]) await utimes(join(stage, path), inputs.epochSeconds, inputs.epochSeconds);
  await chmod(stage, 0o755);

  const built = await run(['dpkg-deb', '--root-owner-group', '-Zxz', '--build', stage, target], {
    env: { ...env, SOURCE_DATE_EPOCH: String(inputs.epochSeconds) },
  });
  if (built.exitCode !== 0) throw new UserError(`dpkg-deb could not build ${pkg.name}: ${built.stderr.trim().split('\n').pop() ?? ''}`);
}

export function controlFile(inputs: DebInputs, installedKiB: number): string {
  const { pkg } = inputs;
  const relations = { ...pkg.relations };
  if (inputs.dynamic) relations.Depends = [...(relations.Depends ?? []), 'libc6'];
  const fields: Array<[string, string]> = [
    ['Package', pkg.name],
    ['Version', inputs.version],
    ['Architecture', inputs.architecture],
    ['Maintainer', MAINTAINER],
    ['Installed-Size', String(installedKiB)],
    ...Object.entries(relations).map(([field, list]): [string, string] => [field, (list ?? []).join(', ')]),
    ['Section', pkg.section],
    ['Priority', 'optional'],
    ['Homepage', pkg.homepage],
  ];
  const [summary, ...body] = pkg.description.split('\n');
  const description = [summary, ...body.map((line) => (line.trim() === '' ? ' .' : ` ${line}`))].join('\n');
  return `${fields.map(([name, value]) => `${name}: ${value}`).join('\n')}\nDescription: ${description}\n`;
}

/** Machine-readable copyright (DEP-5) with the component's own license text, as Debian policy asks of every package. */
function copyright(inputs: DebInputs): string {
  // Debian ships Apache-2.0 in common-licenses and wants a reference to it, not another copy.
  if (!/Apache License\s+Version 2\.0/.test(inputs.licenseText)) {
    throw new UserError(
      `${inputs.pkg.licenseOf}'s LICENSE is not the Apache License 2.0 that ${inputs.pkg.name}'s copyright file states`,
      'Update release/deb.ts for its license.',
    );
  }
  const year = new Date(inputs.epochSeconds * 1000).getUTCFullYear();
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ${inputs.pkg.name}
Source: ${inputs.pkg.homepage}

Files: *
Copyright: ${inputs.pkg.copyright.since}-${year} ${inputs.pkg.copyright.holder}
License: Apache-2.0

License: Apache-2.0
 On Debian systems, the complete text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
`;
}

function changelog(inputs: DebInputs): string {
  const date = new Date(inputs.epochSeconds * 1000).toUTCString().replace('GMT', '+0000');
  return `${inputs.pkg.name} (${inputs.version}) ${inputs.distroCodename}; urgency=medium

  * Built by moby-make from ${inputs.builtFrom}.

 -- ${MAINTAINER}  ${date}
`;
}

/**
 * What dh_installsystemd writes for units (enable on install, start when
 * systemd runs, stop on removal, mask and purge its state), plus docker-ce's
 * `docker` group for the socket. Everything systemd-related is guarded, so
 * a container without systemd installs the packages cleanly.
 */
export function maintainerScripts(pkg: DebPackage): Record<string, string> {
  if (pkg.units.length === 0 && pkg.groups.length === 0) return {};
  const units = pkg.units.map((unit) => `'${unit}'`).join(' ');
  const groups = pkg.groups.map((group) => `\tif ! getent group ${group} >/dev/null; then groupadd --system ${group}; fi\n`).join('');
  const postinst = `#!/bin/sh
set -e
${groups ? `if [ "$1" = configure ]; then\n${groups}fi\n` : ''}${
    pkg.units.length === 0
      ? ''
      : `if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then
\tfor unit in ${units}; do
\t\tdeb-systemd-helper unmask "$unit" >/dev/null || true
\t\tif deb-systemd-helper --quiet was-enabled "$unit"; then
\t\t\tdeb-systemd-helper enable "$unit" >/dev/null || true
\t\telse
\t\t\tdeb-systemd-helper update-state "$unit" >/dev/null || true
\t\tfi
\tdone
\tif [ -d /run/systemd/system ]; then
\t\tsystemctl --system daemon-reload >/dev/null || true
\t\tdeb-systemd-invoke start ${units} >/dev/null || true
\tfi
fi
`
  }`;
  if (pkg.units.length === 0) return { postinst };
  return {
    postinst,
    prerm: `#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
\tdeb-systemd-invoke stop ${units} >/dev/null || true
fi
`,
    postrm: `#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
\tsystemctl --system daemon-reload >/dev/null || true
fi
if command -v deb-systemd-helper >/dev/null; then
\tif [ "$1" = remove ]; then
\t\tdeb-systemd-helper mask ${units} >/dev/null || true
\tfi
\tif [ "$1" = purge ]; then
\t\tdeb-systemd-helper purge ${units} >/dev/null || true
\t\tdeb-systemd-helper unmask ${units} >/dev/null || true
\tfi
fi
`,
  };
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** Every file under `root`, relative and sorted. */
async function walk(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

async function dirs(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return [...entries.filter((entry) => entry.isDirectory()).map((entry) => relative(root, join(entry.parentPath, entry.name))), '.'];
}
