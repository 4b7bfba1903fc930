import { createPrivateKey, createPublicKey, scryptSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import nacl from 'tweetnacl';
import { z } from 'zod';
import type { Env } from './env.js';
import { UserError } from './errors.js';
import { jsonOrUndefined } from './json-file.js';

/**
 * Keys in cosign's formats, for everything the project signs (cache entries,
 * release provenance): private keys as `cosign generate-key-pair` writes them
 * (an scrypt + nacl/secretbox encrypted PKCS#8 key) or plain PEM from openssl,
 * public keys as PEM. Each is named by the variable that points at it, so an
 * error says which setting to fix.
 */
/** cosign's variable for the password of its encrypted private key. */
export const KEY_PASSWORD_VARIABLE = 'COSIGN_PASSWORD';

const encryptedKeySchema = z.object({
  kdf: z.object({ name: z.literal('scrypt'), params: z.object({ N: z.number().int(), r: z.number().int(), p: z.number().int() }), salt: z.string() }),
  cipher: z.object({ name: z.literal('nacl/secretbox'), nonce: z.string() }),
  ciphertext: z.string(),
});

/** The private key a variable names (`MOBY_MAKE_SIGN_KEY=/path/cosign.key`), decrypted with COSIGN_PASSWORD when cosign encrypted it. */
export function loadPrivateKey(variable: string, file: string, env: Env): KeyObject {
  const pem = readKeyFile(variable, file);
  const encrypted = /-----BEGIN ENCRYPTED (?:SIGSTORE|COSIGN) PRIVATE KEY-----([\s\S]*?)-----END/.exec(pem);
  try {
    if (!encrypted) return createPrivateKey(pem);
    return createPrivateKey({ key: decryptCosignKey(Buffer.from(encrypted[1] ?? '', 'base64'), variable, file, env), format: 'der', type: 'pkcs8' });
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${variable}=${file} is not a private key: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function loadPublicKey(variable: string, file: string, fix: string): KeyObject {
  try {
    return createPublicKey(readKeyFile(variable, file));
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${variable}=${file} is not a PEM public key: ${error instanceof Error ? error.message : String(error)}`, fix);
  }
}

function readKeyFile(variable: string, file: string): string {
  if (!existsSync(file)) throw new UserError(`${variable}=${file}: no such file`, `Point ${variable} at a key file (cosign generate-key-pair writes one).`);
  return readFileSync(file, 'utf8');
}

/** cosign's encrypted key: JSON naming scrypt's parameters and a secretbox nonce, around the PKCS#8 key. */
function decryptCosignKey(envelope: Buffer, variable: string, file: string, env: Env): Buffer {
  const parsed = encryptedKeySchema.safeParse(jsonOrUndefined(envelope));
  if (!parsed.success) throw new UserError(`${variable}=${file} is not a cosign private key this version reads (scrypt, nacl/secretbox)`);
  const { kdf, cipher, ciphertext } = parsed.data;
  const password = env[KEY_PASSWORD_VARIABLE] ?? '';
  const { N, r, p } = kdf.params;
  const secret = scryptSync(password, Buffer.from(kdf.salt, 'base64'), 32, { N, r, p, maxmem: 256 * N * r + (1 << 20) });
  const opened = nacl.secretbox.open(Buffer.from(ciphertext, 'base64'), Buffer.from(cipher.nonce, 'base64'), secret);
  if (!opened) {
    throw new UserError(
      `${variable}=${file} cannot be decrypted with ${KEY_PASSWORD_VARIABLE}`,
      `Set ${KEY_PASSWORD_VARIABLE} to the password the key was made with.`,
    );
  }
  return Buffer.from(opened);
}
