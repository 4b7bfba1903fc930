import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { bundlePaths, CLIENT_BUNDLE, DAEMON_BUNDLE } from '../core/bundle-layout.js';
import { readElf } from '../core/elf.js';
import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import type { Listener } from '../core/events.js';
import { digestFile, sha256File, sidecarLine } from '../core/hashing.js';
import { readManifest, type Manifest } from '../core/manifest.js';
import { hostPlatform, parsePlatform } from '../core/platform.js';
import { ensureRequirements, installPolicy } from '../core/requirements.js';
import { loadPrivateKey } from '../core/signing-keys.js';
import { buildDeb } from './deb.js';
import { DEB_PACKAGES, STATIC_TARBALLS, type FileSource } from './layout.js';
import { lintian, type LintianFinding } from './lintian.js';
import { envelope, provenanceStatement, type Subject } from './provenance.js';
import { bundleSbom, type SbomBinary } from './sbom.js';
import { releaseSource, type ReleaseSource } from './sources.js';
import { writeTgz, type TarEntry } from './tar.js';
import { containerdDebVersion, debVersion, hostDistro, staticVersion } from './version.js';

export const SIGN_KEY_VARIABLE = 'MOBY_MAKE_SIGN_KEY';
export const PROVENANCE_FILE = 'provenance.intoto.jsonl';
export const CHECKSUMS_FILE = 'SHA256SUMS';
const RELEASE_BUNDLES = [DAEMON_BUNDLE, CLIENT_BUNDLE] as const;

export type ArtifactKind = 'tarball' | 'deb' | 'sbom' | 'provenance';

export type PackageEvent =
  | {
      type: 'plan';
      version: string;
      target: string;
      epoch: number;
      epochFrom: string;
      signing: boolean;
      /** What dockerd says it is (hack/make.sh's VERSION at build time, `dev` unless set), when it is not the release's version. */
      daemonStampedAs?: string;
    }
  | { type: 'installing'; packages: readonly string[] }
  | { type: 'artifact'; kind: ArtifactKind; file: string; sha256: string; size: number }
  | { type: 'lintian'; file: string; findings: readonly LintianFinding[] }
  | { type: 'finished'; target: string; artifacts: number; seconds: number; signed: boolean };

export interface PackageOptions {
  bundlesDir: string;
  cacheDir: string;
  env: Env;
  /** Package a tree with uncommitted changes (its version is then the dev pseudo-version). */
  allowDirty: boolean;
  /** Fail unless MOBY_MAKE_SIGN_KEY gives a key (CI's release job). Without it, a key that is set still signs. */
  requireSignature: boolean;
  /** Run lintian on each .deb (installing it when allowed). */
  lint: boolean;
  onEvent: Listener<PackageEvent>;
}

interface BundleFile {
  bundle: string;
  name: string;
  path: string;
  sha256: string;
  component: string;
}

/**
 * `npm run package`: the bundles as docker-ce's release artifacts — static
 * tarballs, Debian packages, an SPDX SBOM per bundle, signed provenance —
 * under `bundles/release/<version>/`. Every input file is checked against
 * its bundle's manifest first; everything is made in a temporary sibling and
 * renamed into place at the end, so a failure leaves the previous release
 * (or nothing) there, never half of one.
 */
export async function packageRelease(options: PackageOptions): Promise<{ target: string; version: string }> {
  const started = Date.now();
  const { env, onEvent } = options;
  const signKey = signingKey(env, options.requireSignature);
  const manifests = Object.fromEntries(RELEASE_BUNDLES.map((bundle) => [bundle, bundleManifest(options.bundlesDir, bundle)]));
  const files = await checkedBundleFiles(options.bundlesDir, manifests);

  const daemon = manifests[DAEMON_BUNDLE]?.manifest.components.daemon;
  if (!daemon) throw new UserError(`${join(options.bundlesDir, DAEMON_BUNDLE)} has no dockerd`, 'Build it first: npm run make');
  const dirtyComponents = Object.entries(manifests).flatMap(([, { manifest }]) =>
    Object.entries(manifest.components)
      .filter(([, record]) => record.source.dirty)
      .map(([name]) => name),
  );
  if (dirtyComponents.length > 0 && !options.allowDirty) {
    throw new UserError(
      `${dirtyComponents.join(', ')} ${dirtyComponents.length === 1 ? 'was' : 'were'} built from a tree with uncommitted changes`,
      'Commit them and rebuild, or package anyway with --allow-dirty (the version is then a dev pseudo-version).',
    );
  }
  const sources = new Map<string, Promise<ReleaseSource>>();
  const sourceOf = (component: string): Promise<ReleaseSource> => {
    const record = Object.values(manifests).find(({ manifest }) => manifest.components[component])?.manifest.components[component];
    if (!record) throw new UserError(`release/layout.ts takes files from ${component}, which neither bundle has`, 'Build it: npm run make');
    let found = sources.get(component);
    if (!found) sources.set(component, (found = releaseSource(component, record.source, env, options.cacheDir)));
    return found;
  };
  const daemonSource = await sourceOf('daemon');
  const version = staticVersion(daemon.source, daemonSource.commitTime);
  const { epoch, epochFrom } = releaseEpoch(env, daemonSource.commitTime);

  const releaseRoot = join(options.bundlesDir, 'release');
  const target = join(releaseRoot, version);
  const stamped = daemon.commands.join(' ').match(/dockerversion\.Version=([^'"\s]*)/)?.[1];
  onEvent({
    type: 'plan',
    version,
    target,
    epoch,
    epochFrom,
    signing: signKey !== undefined,
    ...(stamped !== undefined && stamped !== version ? { daemonStampedAs: stamped } : {}),
  });
  if (options.lint) {
    await ensureRequirements(
      [{ kind: 'command', command: 'lintian', aptPackage: 'lintian', why: 'to check the Debian packages' }],
      installPolicy(env, (packages) => onEvent({ type: 'installing', packages })),
    );
  }

  await mkdir(releaseRoot, { recursive: true });
  const work = await mkdtemp(join(releaseRoot, `.tmp-${version}-`));
  try {
    const out = join(work, version);
    await mkdir(out);
    const artifacts: string[] = [];
    const emit = async (kind: ArtifactKind, file: string) => {
      const { sha256, md5 } = await digestFile(file);
      await writeFile(`${file}.sha256`, sidecarLine(sha256, basename(file)));
      await writeFile(`${file}.md5`, sidecarLine(md5, basename(file)));
      artifacts.push(file);
      onEvent({ type: 'artifact', kind, file: basename(file), sha256, size: (await stat(file)).size });
    };
    const resolve = async (from: FileSource): Promise<string> => {
      if ('bundleFile' in from) {
        const file = files.get(from.bundleFile);
        if (!file) throw new UserError(`the bundles have no ${from.bundleFile}, which the release layout needs`, 'Build every component: npm run make');
        return file.path;
      }
      const path = join((await sourceOf(from.component)).dir, from.path);
      if (!existsSync(path))
        throw new UserError(`${from.component}'s source has no ${from.path}, which the release layout needs`, 'Update release/layout.ts for this version.');
      return path;
    };

    for (const tarball of STATIC_TARBALLS) {
      const entries: TarEntry[] = [{ kind: 'dir', name: `${tarball.name}/`, mode: 0o755 }];
      for (const name of [...tarball.files].sort()) {
        const path = await resolve({ bundleFile: name });
        entries.push({ kind: 'file', name: `${tarball.name}/${name}`, mode: 0o755, source: path, size: (await stat(path)).size });
      }
      const file = join(out, `${tarball.name}-${version}.tgz`);
      await writeTgz(file, entries, epoch);
      await emit('tarball', file);
    }

    const distro = hostDistro();
    const architecture = bundleArchitecture(manifests);
    for (const pkg of DEB_PACKAGES) {
      const record = Object.values(manifests).find(({ manifest }) => manifest.components[pkg.licenseOf])?.manifest.components[pkg.licenseOf];
      const packageVersion = pkg.version === 'docker-ce' ? debVersion(version, distro) : containerdDebVersion(record?.source.version ?? '');
      const paths = new Map<string, string>();
      for (const file of pkg.files) paths.set(file.to, await resolve(file.from));
      const elves = await Promise.all([...paths.values()].map((path) => readElf(path)));
      const licenseFile = join((await sourceOf(pkg.licenseOf)).dir, 'LICENSE');
      const file = join(out, `${pkg.name}_${packageVersion.replace(/^\d+:/, '')}_${architecture}.deb`);
      await buildDeb(
        {
          pkg,
          version: packageVersion,
          architecture,
          files: paths,
          licenseText: await readFile(licenseFile, 'utf8'),
          dynamic: elves.some((elf) => elf !== undefined && !elf.static),
          builtFrom: record
            ? `${pkg.licenseOf} ${record.source.version}${record.source.commit ? ` (commit ${record.source.commit.slice(0, 12)})` : ''}`
            : pkg.licenseOf,
          distroCodename: distro.codename,
          epochSeconds: epoch,
        },
        join(work, 'stage'),
        file,
        env,
      );
      if (options.lint) onEvent({ type: 'lintian', file: basename(file), findings: await lintian(file, env) });
      await emit('deb', file);
    }

    for (const [bundle, { manifest }] of Object.entries(manifests)) {
      const binaries: SbomBinary[] = [...files.values()]
        .filter((file) => file.bundle === bundle)
        .map((file) => ({ name: file.name, path: file.path, sha256: file.sha256, component: file.component, record: manifest.components[file.component]! }));
      const document = await bundleSbom(bundle, version, binaries, epoch, env);
      const file = join(out, `${bundle}-${version}.spdx.json`);
      await writeFile(file, `${JSON.stringify(document, null, 2)}\n`);
      await emit('sbom', file);
    }

    const subjects: Subject[] = await Promise.all(artifacts.map(async (file) => ({ name: basename(file), digest: { sha256: await sha256File(file) } })));
    const statement = provenanceStatement(subjects, Object.fromEntries(Object.entries(manifests).map(([bundle, { manifest }]) => [bundle, manifest])), {
      version,
      sourceDateEpoch: String(epoch),
      allowDirty: options.allowDirty,
    });
    const provenance = join(out, PROVENANCE_FILE);
    await writeFile(provenance, `${JSON.stringify(envelope(statement, signKey))}\n`);
    await emit('provenance', provenance);

    const sums = await Promise.all(artifacts.map(async (file) => sidecarLine(await sha256File(file), basename(file))));
    await writeFile(join(out, CHECKSUMS_FILE), sums.sort((a, b) => a.slice(66).localeCompare(b.slice(66))).join(''));
    await publish(out, target, work);
    onEvent({ type: 'finished', target, artifacts: artifacts.length, seconds: (Date.now() - started) / 1000, signed: signKey !== undefined });
    return { target, version };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function signingKey(env: Env, required: boolean): KeyObject | undefined {
  const file = env[SIGN_KEY_VARIABLE];
  if (!file) {
    if (required)
      throw new UserError(
        `--sign was asked for, but ${SIGN_KEY_VARIABLE} is not set`,
        `Set ${SIGN_KEY_VARIABLE} to a cosign.key (and COSIGN_PASSWORD), or leave out --sign.`,
      );
    return undefined;
  }
  return loadPrivateKey(SIGN_KEY_VARIABLE, file, env);
}

/** SOURCE_DATE_EPOCH when given (reproducible-builds.org's convention), else the daemon's commit time. */
function releaseEpoch(env: Env, commitTime: Date): { epoch: number; epochFrom: string } {
  const given = env.SOURCE_DATE_EPOCH;
  if (given !== undefined && given !== '') {
    if (!/^\d+$/.test(given))
      throw new UserError(`SOURCE_DATE_EPOCH=${given} is not a number of seconds since 1970`, 'Set it to e.g. $(git log -1 --format=%ct).');
    return { epoch: Number(given), epochFrom: 'SOURCE_DATE_EPOCH' };
  }
  return { epoch: Math.floor(commitTime.getTime() / 1000), epochFrom: "the daemon's commit time" };
}

function bundleManifest(bundlesDir: string, bundle: string): { dir: string; manifest: Manifest } {
  const link = bundlePaths(bundlesDir, bundle).current;
  if (!existsSync(link)) throw new UserError(`there is no ${bundle} bundle in ${bundlesDir}`, 'Build it first: npm run make');
  // One generation for the whole run, even if make publishes a new one meanwhile.
  const dir = realpathSync(link);
  return { dir, manifest: readManifest(dir) };
}

/** Every file of both bundles, each checked against the sha256 its manifest records. */
async function checkedBundleFiles(bundlesDir: string, manifests: Record<string, { dir: string; manifest: Manifest }>): Promise<Map<string, BundleFile>> {
  const files = new Map<string, BundleFile>();
  for (const [bundle, { dir, manifest }] of Object.entries(manifests)) {
    for (const [name, record] of Object.entries(manifest.files)) {
      const path = join(dir, name);
      if (!existsSync(path))
        throw new UserError(`${join(bundlesDir, bundle, name)} is missing, though the bundle's manifest lists it`, 'Rebuild the bundle: npm run make');
      const actual = await sha256File(path);
      if (actual !== record.sha256) {
        throw new UserError(
          `${join(bundlesDir, bundle, name)} is not the file its manifest records (sha256 ${actual}, recorded ${record.sha256})`,
          'Rebuild the bundle: npm run make',
        );
      }
      files.set(name, { bundle, name, path, sha256: record.sha256, component: record.component });
    }
  }
  return files;
}

function bundleArchitecture(manifests: Record<string, { manifest: Manifest }>): string {
  const platforms = new Set(Object.values(manifests).flatMap(({ manifest }) => Object.values(manifest.components).map((record) => record.platform ?? '')));
  const [platform, ...others] = [...platforms];
  if (others.length > 0)
    throw new UserError(`the bundles mix platforms (${[...platforms].map((p) => p || 'host').join(', ')})`, 'Rebuild them for one platform.');
  const target = platform ? parsePlatform(platform) : hostPlatform();
  if (target.os !== 'linux') throw new UserError(`the bundles are for ${platform}, which Debian packages do not exist for`, 'Package a Linux bundle.');
  return target.debianArch;
}

/** Moves the finished release into place; an earlier one of the same version is replaced only once the new one is complete. */
async function publish(ready: string, target: string, work: string): Promise<void> {
  if (existsSync(target)) {
    await rename(target, join(work, 'previous'));
  }
  await rename(ready, target);
}
