import type { Env } from '../core/env.js';
import type { RemoteNotice } from '../core/remote-outputs.js';
import type { CacheConfig } from './config.js';
import { recordUse } from './entry-uses.js';
import { credentialsRefused, registryClient } from './credentials.js';
import { TransportError } from './http.js';
import { RegistryAuthError, RegistryProtocolError, digestOf, type RegistryClient } from './registry.js';
import { loadSigner, loadVerifier, signatureArtifact, signatureTag, signedLayers, VERIFY_KEY_VARIABLE, type Signer, type Verifier } from './signing.js';

export interface StoreKeys {
  signer?: Signer;
  verifier?: Verifier;
}

/**
 * What every store on the cache registry shares: one client with the
 * credentials found for the host, the signing keys, and the rule that a
 * registry that failed once is not asked again in this run.
 */
export abstract class RegistryStore {
  /** Set when the registry failed once: the rest of the run works locally without asking again. */
  protected away = false;

  protected constructor(
    protected readonly client: RegistryClient,
    readonly pushing: boolean,
    protected readonly notify: (notice: RemoteNotice) => void,
    protected readonly keys: StoreKeys,
  ) {}

  get name(): string {
    return this.client.name;
  }

  /**
   * A client once the registry has answered GET /v2/ with our credentials.
   * Refused credentials are the user's to fix (an error naming the registry
   * and the variables); a registry that is down is only a notice, and the
   * store made from it then answers every call with nothing.
   */
  protected static async connect(
    config: CacheConfig,
    env: Env,
    notify: (notice: RemoteNotice) => void,
  ): Promise<{ client: RegistryClient; keys: StoreKeys; down?: unknown }> {
    const signer = loadSigner(env);
    const verifier = loadVerifier(env);
    const client = await registryClient(config, env, {
      plainHttp: () => notify({ kind: 'plain-http', store: client.name }),
      throttled: (status) => notify({ kind: 'throttled', store: client.name, status }),
    });
    const keys = { ...(signer ? { signer } : {}), ...(verifier ? { verifier } : {}) };
    try {
      await client.ping();
      return { client, keys };
    } catch (error) {
      if (error instanceof RegistryAuthError) throw credentialsRefused(error.message, config.address.host);
      return { client, keys, down: error };
    }
  }

  /** Why the entry is not accepted under MOBY_MAKE_CACHE_VERIFY_KEY, or undefined when it is (or no key is set). */
  protected async signatureRefusal(digest: string): Promise<string | undefined> {
    const verifier = this.keys.verifier;
    if (!verifier) return undefined;
    const signatures = await this.client.manifest(signatureTag(digest));
    if (!signatures) return `it is not signed, and ${VERIFY_KEY_VARIABLE} accepts only signed entries`;
    for (const layer of signedLayers(signatures.body)) {
      if (verifier.accepts(await this.client.blob(layer.digest), layer.signature, digest)) return undefined;
    }
    return `none of its signatures is by the key in ${VERIFY_KEY_VARIABLE}`;
  }

  /** Signs a pushed manifest, cosign's way, when MOBY_MAKE_CACHE_SIGN_KEY is set. */
  protected async sign(digest: string): Promise<void> {
    if (!this.keys.signer) return;
    const signature = signatureArtifact(this.name, digest, this.keys.signer);
    for (const blob of signature.blobs) await this.client.pushBlob(digestOf(blob), blob.length, blob);
    await this.client.putManifest(signatureTag(digest), signature.manifest);
  }

  /**
   * A pushing runner's use of an entry (`name`'s map of uses, see
   * entry-uses.ts), for `cache prune`; a failure to record it is said
   * under `what`, and the run goes on.
   */
  protected async markUsed(name: string, fingerprint: string, what: string): Promise<void> {
    try {
      await recordUse(this.client, name, fingerprint);
    } catch (error) {
      this.notify({ kind: 'use-not-recorded', store: this.name, component: what, reason: reasonOf(error) });
    }
  }

  protected unavailable(error: unknown): void {
    if (this.away) return;
    this.away = true;
    this.notify({ kind: 'unreachable', store: this.name, reason: reasonOf(error) });
  }
}

export function reasonOf(error: unknown): string {
  if (error instanceof TransportError || error instanceof RegistryAuthError || error instanceof RegistryProtocolError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
