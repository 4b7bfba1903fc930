import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { Manifest } from '../core/manifest.js';

/**
 * Provenance as in-toto and SLSA define it: a Statement v1 whose subjects
 * are the artifacts' sha256 and whose predicate is SLSA provenance v1 (the
 * build type, the exact replayable commands from each bundle's manifest,
 * every source with its digest, the toolchains), wrapped in a DSSE envelope
 * and signed over DSSE's pre-authentication encoding — the form cosign's
 * `verify-blob-attestation` and slsa-verifier read.
 */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE = 'https://slsa.dev/provenance/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const BUILD_TYPE = 'urn:moby-make:buildtype:package:v1';

export interface Subject {
  name: string;
  digest: { sha256: string };
}

export function provenanceStatement(subjects: readonly Subject[], bundles: Record<string, Manifest>, parameters: Record<string, string | boolean>) {
  const components = Object.entries(bundles).flatMap(([bundle, manifest]) =>
    Object.entries(manifest.components).map(([name, record]) => ({ bundle, name, record })),
  );
  return {
    _type: STATEMENT_TYPE,
    subject: [...subjects].sort((a, b) => a.name.localeCompare(b.name)),
    predicateType: SLSA_PROVENANCE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          ...parameters,
          components: Object.fromEntries(
            components.map(({ bundle, name, record }) => [`${bundle}/${name}`, { commands: record.commands, outputs: record.outputs }]),
          ),
        },
        internalParameters: { replay: 'npm run verify-bundle -- --manifest bundles/<bundle>/manifest.json replays each component' },
        resolvedDependencies: components.flatMap(({ bundle, name, record }) =>
          [['', record.source] as const, ...Object.entries(record.extraSources)].map(([extra, source]) => ({
            name: `${bundle}/${name}${extra ? `:${extra}` : ''}`,
            uri: sourceUri(source.origin),
            digest: { ...(source.commit ? { gitCommit: source.commit } : {}), ...identityDigest(source.identity) },
            annotations: { identity: source.identity, version: source.version },
          })),
        ),
      },
      runDetails: {
        builder: {
          id: BUILD_TYPE,
          version: Object.fromEntries(components.flatMap(({ record }) => Object.entries(record.toolchain)).sort(([a], [b]) => a.localeCompare(b))),
        },
        metadata: {},
      },
    },
  };
}

type Origin = Manifest['components'][string]['source']['origin'];

function sourceUri(origin: Origin): string {
  if ('module' in origin) return `pkg:golang/${origin.module}@${origin.version}`;
  if ('url' in origin) return `git+${origin.url}@${origin.ref}`;
  if ('package' in origin) return `pkg:deb/debian/${origin.package}@${origin.version}?file=${origin.file}`;
  return `file://${origin.dir}`;
}

/** The digest an identity carries: a Go module's h1 (as `dirHashH1`), a tarball's or tree's sha256. */
function identityDigest(identity: string): Record<string, string> {
  const h1 = / h1:([A-Za-z0-9+/=]+)/.exec(identity)?.[1];
  if (h1) return { dirHashH1: h1 };
  const sha = /(?:sha256:|tree |dirty )([0-9a-f]{64})/.exec(identity)?.[1];
  return sha ? { sha256: sha } : {};
}

/** DSSE's pre-authentication encoding: what the signature covers, so a payload cannot be read as another type. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

const envelopeSchema = z.object({
  payloadType: z.string(),
  payload: z.string(),
  signatures: z.array(z.object({ keyid: z.string().optional(), sig: z.string() })),
});
export type Envelope = z.infer<typeof envelopeSchema>;

/** The key's id as cosign names a public key: the sha256 of its DER (SubjectPublicKeyInfo). */
export function keyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export function envelope(statement: unknown, key: KeyObject | undefined): Envelope {
  const payload = Buffer.from(JSON.stringify(statement));
  const signatures = key ? [{ keyid: keyId(key), sig: sign('sha256', pae(IN_TOTO_PAYLOAD_TYPE, payload), key).toString('base64') }] : [];
  return { payloadType: IN_TOTO_PAYLOAD_TYPE, payload: payload.toString('base64'), signatures };
}

export function parseEnvelope(text: string): Envelope | undefined {
  try {
    const parsed = envelopeSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** True when one of the envelope's signatures is the key's over the PAE of its payload. */
export function signedBy(envelopeValue: Envelope, key: KeyObject): boolean {
  const message = pae(envelopeValue.payloadType, Buffer.from(envelopeValue.payload, 'base64'));
  return envelopeValue.signatures.some((signature) => {
    try {
      return verify('sha256', message, key, Buffer.from(signature.sig, 'base64'));
    } catch {
      return false;
    }
  });
}
