import type { RemoteNotice } from './remote-outputs.js';

/**
 * Which images: moby's frozen images (one per recipe key, kept as made, so
 * the registry's manifest digest is the local layout's; `cache prune` ages
 * them out by their last use by a pushing runner) and the dev image of
 * Dockerfile.dev (one per Dockerfile revision, aged by its config's build
 * time or its last use).
 */
export type ImageKind = 'frozen' | 'dev';

export interface ImageEntry {
  kind: ImageKind;
  /** The recipe (`busybox-latest`) or the dev image's Debian release. */
  image: string;
  key: string;
}

/**
 * A shared store of images made here (moby's frozen images, the dev image), by their
 * recipe key: asked before an image is made, offered what was made. Images
 * travel as what they are, an OCI image layout folder (`index.json`,
 * `blobs/sha256/`), so the registry holds ordinary images that any OCI
 * tool can pull. As with component outputs, nothing a remote store does
 * may fail the caller: a miss, a store that is away and a refused entry all
 * answer "nothing", and say why through a notice.
 */
export interface RemoteImages {
  /** host/repository, for messages. */
  readonly name: string;
  readonly pushing: boolean;
  /**
   * The image of this recipe and key: its manifest, config and layers,
   * each checked against its digest, into `blobsDir` (`blobs/sha256` of the
   * layout the caller then completes); the manifest's digest and the entry's
   * reference, or undefined.
   */
  fetch(entry: ImageEntry & { blobsDir: string }): Promise<{ ref: string; manifestDigest: string } | undefined>;
  /**
   * Whether the store has this entry already (so a caller can spare itself
   * making a layout to offer); false when the store is away. A pushing store
   * records the use, as it does for an entry it fetches or finds on push.
   */
  has(entry: ImageEntry): Promise<boolean>;
  /** Offers the image whose OCI layout is `dir` (one manifest); its reference, or undefined when the store has it already or did not take it. */
  push(entry: ImageEntry & { dir: string }): Promise<{ ref: string } | undefined>;
}

export type { RemoteNotice };
