import { join } from 'node:path';

/**
 * Layout under the bundles root, shared by the build (which writes it) and
 * everything that runs what it built:
 *   binary-daemon -> .generations/<id>   (a symlink, swapped with one rename)
 *   binary-client -> .generations/<id>   (the docker CLI: a bundle of its own, published the same way)
 *   .generations/<id>/                   complete, immutable bundle folders, each the target of one bundle's symlink
 *   .staging/<run>/                      per-run build outputs and work dirs
 *   .digests.json                        the bundles' files' sha256 by the identity of their bytes (core/digest-memo.ts)
 *   logs/<component>.log
 * A new generation is assembled beside the current one and published by an
 * atomic rename of the symlink, so readers see either the old bundle or the
 * new one, never a mix, and an interrupted run changes nothing they can see.
 */
export interface BundlePaths {
  /** The bundle's name, e.g. binary-daemon. */
  name: string;
  root: string;
  current: string;
  generations: string;
  staging: string;
  /** Shared by every bundle of the root, like logs. */
  digests: string;
  logs: string;
}

export const DAEMON_BUNDLE = 'binary-daemon';
/** Set inside the dev container by `make --in-container`: the image id, recorded as part of each component's toolchain. */
export const DEV_IMAGE_VARIABLE = 'MOBY_MAKE_DEV_IMAGE';

/** moby's historical name for the folder holding the docker client. */
export const CLIENT_BUNDLE = 'binary-client';

export function bundlePaths(root: string, name = DAEMON_BUNDLE): BundlePaths {
  return {
    name,
    root,
    current: join(root, name),
    generations: join(root, '.generations'),
    staging: join(root, '.staging'),
    digests: join(root, '.digests.json'),
    logs: join(root, 'logs'),
  };
}
