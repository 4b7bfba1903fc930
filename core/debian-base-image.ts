import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env } from './env.js';
import { UserError } from './errors.js';
import { run } from './process.js';
import { ensureRequirements, type InstallPolicy } from './requirements.js';

const APT_SOURCES = '/etc/apt/sources.list';
const APT_SOURCES_DIR = '/etc/apt/sources.list.d';

/** The fields of an os-release file (`ID`, `VERSION_ID`, `VERSION_CODENAME`, …), unquoted; empty when there is none. */
export function osReleaseFields(osRelease = '/etc/os-release'): Record<string, string> {
  if (!existsSync(osRelease)) return {};
  const fields: Record<string, string> = {};
  for (const match of readFileSync(osRelease, 'utf8').matchAll(/^([A-Z_]+)=["']?([^"'\n]*)["']?$/gm)) fields[match[1] ?? ''] = match[2] ?? '';
  return fields;
}

/** The host's Debian release codename (bookworm, trixie), from /etc/os-release. */
export function hostDebianRelease(osRelease = '/etc/os-release'): string | undefined {
  const codename = osReleaseFields(osRelease).VERSION_CODENAME;
  return codename && /^[a-z]+$/.test(codename) ? codename : undefined;
}

/**
 * The apt source files this machine uses (one-line and deb822), with the
 * host's release renamed to `release`: the same mirrors, whatever their
 * names, and never a host name written here.
 */
export function hostAptSources(release: string, hostRelease: string | undefined): { name: string; text: string }[] {
  const files = [APT_SOURCES, ...(existsSync(APT_SOURCES_DIR) ? readdirSync(APT_SOURCES_DIR).map((name) => join(APT_SOURCES_DIR, name)) : [])]
    .filter((file) => /\.(list|sources)$/.test(file) && existsSync(file))
    .map((file) => ({ name: file.slice(file.lastIndexOf('/') + 1), text: readFileSync(file, 'utf8') }))
    .filter((file) => /^\s*(deb\s|Types:.*\bdeb\b)/m.test(file.text));
  if (!hostRelease || hostRelease === release) return files;
  const renamed = new RegExp(`\\b${hostRelease}(?=[-\\s]|$)`, 'gm');
  return files.map((file) => ({ ...file, text: file.text.replace(renamed, release) }));
}

/**
 * `debian:<release>` made here when no registry can be reached: the minbase
 * variant by mmdebstrap, from the Debian mirrors this machine's apt already
 * uses (apt checks every package's signature), as a tar for `docker import`.
 * The host's resolv.conf and hostname are left out of it.
 */
export async function makeDebianRootfsTar(
  release: string,
  env: Env,
  install: InstallPolicy,
  signal?: AbortSignal,
): Promise<{ tar: string; cleanUp: () => Promise<void> }> {
  await ensureRequirements([{ kind: 'command', command: 'mmdebstrap', aptPackage: 'mmdebstrap', why: `making debian:${release} without a registry` }], install);
  const sources = hostAptSources(release, hostDebianRelease());
  if (sources.length === 0) throw new UserError('this machine has no apt sources to make a Debian image from', `Add the Debian mirror to ${APT_SOURCES_DIR}.`);
  const work = await mkdtemp(join(tmpdir(), 'moby-make-debian-'));
  const cleanUp = () => rm(work, { recursive: true, force: true });
  try {
    const sourceFiles: string[] = [];
    for (const source of sources) {
      const file = join(work, source.name);
      await writeFile(file, source.text);
      sourceFiles.push(file);
    }
    const tar = join(work, 'rootfs.tar');
    const result = await run(
      [
        'mmdebstrap',
        '--variant=minbase',
        '--mode=root',
        '--format=tar',
        '--customize-hook=rm -f "$1"/etc/resolv.conf "$1"/etc/hostname',
        release,
        tar,
        ...sourceFiles,
      ],
      { env: { ...env, LC_ALL: 'C' }, ...(signal ? { signal } : {}) },
    );
    if (result.exitCode !== 0) {
      throw new UserError(`mmdebstrap could not make debian:${release}: ${result.stderr.trim().split('\n').slice(-5).join(' / ')}`);
    }
    return { tar, cleanUp };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
