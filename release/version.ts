import { osReleaseFields } from '../core/debian-base-image.js';
import { UserError } from '../core/errors.js';
import type { SourceRecord } from '../core/manifest.js';

/** A release tag as moby and its packaging name them: v29.1.0, v2.0.0-beta.21, v28.0.0-rc.2. */
const RELEASE_TAG = /^v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)$/;

/**
 * The version of the static packages, by docker-ce-packaging's
 * `gen-static-ver`: a release tag without its `v`; anything else (a branch
 * head, a `-dev` version, a contributor's changed tree) the pseudo-version
 * `0.0.0-<commit time, UTC, YYYYmmddHHMMSS>-<12 hex of the commit>` so that a
 * dev build always sorts before any release.
 */
export function staticVersion(source: SourceRecord, commitTime: Date): string {
  const tag = RELEASE_TAG.exec(source.version);
  if (tag?.[1] && !source.dirty && !source.version.endsWith('-dev')) return tag[1];
  const stamp = commitTime.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  // A Go pseudo-version (v2.0.0-20261103140509-abcdefabcdef) names its commit after the timestamp.
  const commit = source.commit ?? /\d{14}-([0-9a-f]{12})\b/.exec(source.version)?.[1];
  if (!commit)
    throw new UserError(`the daemon's source (${source.identity}) names no commit to version a dev build by`, 'Build from a git checkout or a tagged release.');
  return `0.0.0-${stamp}-${commit.slice(0, 12)}`;
}

/** The distribution a package is built for, from /etc/os-release: `debian`, `12`, `bookworm`. */
export interface Distro {
  id: string;
  versionId: string;
  codename: string;
}

export function hostDistro(osRelease = '/etc/os-release'): Distro {
  const { ID: id, VERSION_ID: versionId, VERSION_CODENAME: codename } = osReleaseFields(osRelease);
  if (id !== 'debian' || !versionId || !codename) {
    throw new UserError(`${osRelease} does not describe a Debian release`, 'Build Debian packages on Debian (the dev container is one: npm run shell).');
  }
  return { id, versionId, codename };
}

/** docker-ce's packages carry epoch 5, so that they replace every docker-ce built before the year-based versions. */
const DOCKER_CE_EPOCH = 5;

/**
 * The Debian version of docker-ce's packages, by docker-ce-packaging's
 * `gen-deb-ver`: the static version with every `-` as `~`, so that a
 * pre-release sorts before its release (`2.0.0~beta.21` < `2.0.0`) and a dev
 * build's `0.0.0~<stamp>.<commit>` before both; the package revision and the
 * distribution follow: `5:2.0.0~beta.21-1~debian.12~bookworm`.
 */
export function debVersion(staticVer: string, distro: Distro, revision = 1): string {
  return `${DOCKER_CE_EPOCH}:${debUpstreamVersion(staticVer)}-${revision}~${distro.id}.${distro.versionId}~${distro.codename}`;
}

export function debUpstreamVersion(staticVer: string): string {
  const pseudo = /^0\.0\.0-(\d{14})-([0-9a-f]+)$/.exec(staticVer);
  if (pseudo) return `0.0.0~${pseudo[1]}.${pseudo[2]}`;
  return staticVer.replaceAll('-', '~');
}

/** containerd-packaging's form for containerd.io: the tag without `v` and a revision, no epoch. */
export function containerdDebVersion(tag: string, revision = 1): string {
  return `${tag.replace(/^v/, '').replaceAll('-', '~')}-${revision}`;
}
