import type { ComponentRecord, FileRecord } from './manifest.js';

/**
 * A shared store of component outputs by fingerprint, beside the bundle's own
 * `.builds`: the build asks it before compiling and offers it what it
 * compiled. The build only knows this shape; cache/ puts it on a registry.
 * Nothing a remote store does may fail a build: every method answers
 * "nothing" when the store is away, and says why through a notice.
 */
export interface RemoteOutputs {
  /** host/repository, for messages. */
  readonly name: string;
  /** Whether builds made here are offered to the store (CI), or only taken from it. */
  readonly pushing: boolean;
  /**
   * The outputs of this fingerprint, downloaded and verified into `dir`
   * (which it creates): the entry's reference (`<registry>/<repo>@sha256:…`)
   * and its files' records, each sha256 and size proven by the download; or
   * undefined on a miss and on any failure.
   */
  fetch(entry: {
    component: string;
    fingerprint: string;
    outputs: readonly string[];
    dir: string;
  }): Promise<{ ref: string; files: Readonly<Record<string, FileRecord>> } | undefined>;
  /**
   * Variables for a component's go build that route go's own build cache
   * through the store (GOCACHEPROG), so a tree the store has no outputs for
   * still recompiles only what changed; empty when the store is away.
   */
  goBuildEnv(component: string): Record<string, string>;
  /** Offers a published build (its files in `dir`); the reference it is now stored under, or undefined when the store has it already or did not take it. */
  push(entry: { component: string; record: ComponentRecord; files: Readonly<Record<string, FileRecord>>; dir: string }): Promise<{ ref: string } | undefined>;
}

/** What a remote store tells the user about itself, once per cause. */
export type RemoteNotice =
  | { kind: 'unreachable'; store: string; reason: string }
  /** A loopback registry that does not speak TLS: allowed, and said. */
  | { kind: 'plain-http'; store: string }
  /** The registry asked to slow down (429, 503, …): the calls wait and ask again, and the run goes on. */
  | { kind: 'throttled'; store: string; status: number }
  | { kind: 'corrupt'; ref: string; reason: string }
  | { kind: 'unsigned'; ref: string; reason: string }
  | { kind: 'push-failed'; store: string; component: string; reason: string }
  /** A pushing runner's use of an entry could not be written (cache prune may then take it as unused). */
  | { kind: 'use-not-recorded'; store: string; component: string; reason: string };
