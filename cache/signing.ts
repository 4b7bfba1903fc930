import { sign, verify } from 'node:crypto';
import { z } from 'zod';
import type { Env } from '../core/env.js';
import { loadPrivateKey, loadPublicKey } from '../core/signing-keys.js';
import { digestOf, OCI_MANIFEST } from './registry.js';
import { jsonOrUndefined } from '../core/json-file.js';

/**
 * Signatures on cache entries, in cosign's formats: keys as `cosign
 * generate-key-pair` writes them (an scrypt + nacl/secretbox encrypted
 * PKCS#8 key and a PEM public key; plain PEM keys from openssl work too),
 * and each signature as cosign stores it: a `sha256-<hex>.sig` tag whose
 * layer is the "simple signing" payload naming the entry's manifest digest,
 * with the ECDSA signature over it in the layer's annotation. The cache key
 * covers inputs, not outputs, so this is what stops a writer with push
 * rights from publishing wrong bytes under a right key.
 */
const SIGN_KEY_VARIABLE = 'MOBY_MAKE_CACHE_SIGN_KEY';
export const VERIFY_KEY_VARIABLE = 'MOBY_MAKE_CACHE_VERIFY_KEY';

const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

const payloadSchema = z.object({
  critical: z.object({
    identity: z.object({ 'docker-reference': z.string() }),
    image: z.object({ 'docker-manifest-digest': z.string() }),
    type: z.literal('cosign container image signature'),
  }),
});

/** The tag cosign gives the signatures of a manifest. */
export function signatureTag(manifestDigest: string): string {
  return manifestDigest.replace(':', '-') + '.sig';
}

/** The simple-signing payload for a manifest, as cosign writes it. */
function signingPayload(reference: string, manifestDigest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: { identity: { 'docker-reference': reference }, image: { 'docker-manifest-digest': manifestDigest }, type: 'cosign container image signature' },
      optional: null,
    }),
  );
}

export interface Signer {
  sign: (payload: Buffer) => string;
}

export interface Verifier {
  /** True when `signature` (base64) is the key's over `payload` and the payload names `manifestDigest`. */
  accepts: (payload: Buffer, signature: string, manifestDigest: string) => boolean;
}

export function loadSigner(env: Env): Signer | undefined {
  const file = env[SIGN_KEY_VARIABLE];
  if (!file) return undefined;
  const key = loadPrivateKey(SIGN_KEY_VARIABLE, file, env);
  return { sign: (payload) => sign('sha256', payload, key).toString('base64') };
}

export function loadVerifier(env: Env): Verifier | undefined {
  const file = env[VERIFY_KEY_VARIABLE];
  if (!file) return undefined;
  const key = loadPublicKey(VERIFY_KEY_VARIABLE, file, 'Give it the cosign.pub of the key CI signs with.');
  return {
    accepts: (payload, signature, manifestDigest) => {
      const parsed = payloadSchema.safeParse(jsonOrUndefined(payload));
      if (!parsed.success || parsed.data.critical.image['docker-manifest-digest'] !== manifestDigest) return false;
      try {
        return verify('sha256', payload, key, Buffer.from(signature, 'base64'));
      } catch {
        return false; // not a signature of this key's algorithm at all
      }
    },
  };
}

const signatureLayerSchema = z.object({
  mediaType: z.string(),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const signatureManifestSchema = z.object({ layers: z.array(signatureLayerSchema) });

/** The blobs and manifest of a cosign signature: the payload (a layer), a config listing it, and the manifest tying both. */
export function signatureArtifact(reference: string, manifestDigest: string, signer: Signer): { blobs: Buffer[]; manifest: Buffer } {
  const payload = signingPayload(reference, manifestDigest);
  const config = Buffer.from(JSON.stringify({ architecture: '', os: '', rootfs: { type: 'layers', diff_ids: [digestOf(payload)] }, config: {} }));
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: [
      { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: digestOf(payload), size: payload.length, annotations: { [SIGNATURE_ANNOTATION]: signer.sign(payload) } },
    ],
  };
  return { blobs: [payload, config], manifest: Buffer.from(JSON.stringify(manifest)) };
}

/** The signed payloads a signature manifest lists: each layer's digest and the signature its annotation holds. */
export function signedLayers(manifest: Buffer): Array<{ digest: string; signature: string }> {
  const parsed = signatureManifestSchema.safeParse(jsonOrUndefined(manifest));
  if (!parsed.success) return [];
  return parsed.data.layers.flatMap((layer) => {
    const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
    return layer.mediaType === SIMPLE_SIGNING_MEDIA_TYPE && signature ? [{ digest: layer.digest, signature }] : [];
  });
}
