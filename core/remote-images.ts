import type { RemoteNotice } from './remote-outputs.js';

/**
 * A shared store of images made here (moby's frozen images), by their
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
  fetch(entry: { image: string; key: string; blobsDir: string }): Promise<{ ref: string; manifestDigest: string } | undefined>;
  /** Offers the image whose OCI layout is `dir` (one manifest); its reference, or undefined when the store has it already or did not take it. */
  push(entry: { image: string; key: string; dir: string }): Promise<{ ref: string } | undefined>;
}

export type { RemoteNotice };
