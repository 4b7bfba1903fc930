import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import type { Listener } from '../core/events.js';
import { sha256File } from '../core/hashing.js';
import { run } from '../core/process.js';
import { loadPublicKey } from '../core/signing-keys.js';
import { CHECKSUMS_FILE, PROVENANCE_FILE } from './package.js';
import { parseEnvelope, signedBy, SLSA_PROVENANCE, STATEMENT_TYPE, type Subject } from './provenance.js';
import type { SpdxDocument } from './sbom.js';

export const VERIFY_KEY_VARIABLE = 'MOBY_MAKE_VERIFY_KEY';

export type ReleaseCheck = 'signature' | 'subjects' | 'checksums' | 'sbom';
export type ReleaseVerifyEvent = { type: 'target'; dir: string } | { type: 'check'; check: ReleaseCheck; ok: boolean; detail: string };

/** The release folder to verify: the one asked for, else the newest under bundles/release. */
export function releaseDir(bundlesDir: string, asked: string | undefined): string {
  if (asked) {
    if (!existsSync(join(asked, PROVENANCE_FILE)))
      throw new UserError(`${asked} is not a release folder (no ${PROVENANCE_FILE})`, 'Give a bundles/release/<version> folder that npm run package wrote.');
    return asked;
  }
  const root = join(bundlesDir, 'release');
  const versions = existsSync(root) ? readdirSync(root).filter((name) => !name.startsWith('.') && existsSync(join(root, name, PROVENANCE_FILE))) : [];
  const newest = versions.sort((a, b) => statSync(join(root, b)).mtimeMs - statSync(join(root, a)).mtimeMs)[0];
  if (!newest) throw new UserError(`there is no release under ${root}`, 'Make one first: npm run package');
  return join(root, newest);
}

export function verifyKey(asked: string | undefined, env: Env): KeyObject {
  const file = asked ?? env[VERIFY_KEY_VARIABLE];
  if (!file) throw new UserError('verify needs the public key the release was signed with', `Give --key cosign.pub (or set ${VERIFY_KEY_VARIABLE}).`);
  return loadPublicKey(asked ? '--key' : VERIFY_KEY_VARIABLE, file, 'Give the cosign.pub of the key the release was signed with.');
}

/**
 * `npm run package -- verify`: the provenance is signed by the key and is a
 * SLSA provenance statement; its subjects are exactly the release's
 * artifacts with their sha256; SHA256SUMS agrees; and every binary the
 * tarballs hold is in an SBOM with that binary's sha256 (the tarballs are
 * unpacked to check, so this does not trust the bundle either).
 */
export async function verifyRelease(dir: string, key: KeyObject, onEvent: Listener<ReleaseVerifyEvent>): Promise<boolean> {
  onEvent({ type: 'target', dir });
  const results: boolean[] = [];
  const report = (check: ReleaseCheck, failures: readonly string[], passed: string) => {
    results.push(failures.length === 0);
    onEvent({ type: 'check', check, ok: failures.length === 0, detail: failures.length === 0 ? passed : failures.join('; ') });
  };

  const envelope = parseEnvelope(await readFile(join(dir, PROVENANCE_FILE), 'utf8'));
  const statement = envelope ? parseStatement(Buffer.from(envelope.payload, 'base64').toString('utf8')) : undefined;
  report(
    'signature',
    !envelope
      ? [`${PROVENANCE_FILE} is not a DSSE envelope`]
      : envelope.signatures.length === 0
        ? ['the provenance is not signed']
        : signedBy(envelope, key)
          ? []
          : ['no signature of this key'],
    `${PROVENANCE_FILE} is signed by the key`,
  );

  const artifacts = readdirSync(dir).filter((name) => !/\.(sha256|md5)$/.test(name) && name !== CHECKSUMS_FILE && name !== PROVENANCE_FILE);
  const subjectFailures: string[] = [];
  if (!statement) subjectFailures.push('the payload is not an in-toto SLSA provenance statement');
  for (const subject of statement?.subject ?? []) {
    const path = join(dir, subject.name);
    if (!existsSync(path)) subjectFailures.push(`${subject.name} is missing`);
    else if ((await sha256File(path)) !== subject.digest.sha256) subjectFailures.push(`${subject.name} is not the file the provenance names`);
  }
  for (const name of artifacts)
    if (statement && !statement.subject.some((subject) => subject.name === name)) subjectFailures.push(`${name} is not in the provenance`);
  report('subjects', subjectFailures, `${statement?.subject.length ?? 0} artifacts, each the sha256 the provenance names`);

  const sumsFailures: string[] = [];
  const sums = existsSync(join(dir, CHECKSUMS_FILE)) ? await readFile(join(dir, CHECKSUMS_FILE), 'utf8') : '';
  if (!sums) sumsFailures.push(`${CHECKSUMS_FILE} is missing`);
  for (const line of sums.split('\n').filter(Boolean)) {
    const [digest, name] = line.split(/\s+\*?/);
    if (!name || !existsSync(join(dir, name)) || (await sha256File(join(dir, name))) !== digest)
      sumsFailures.push(`${name ?? line} does not match ${CHECKSUMS_FILE}`);
  }
  report('checksums', sumsFailures, `${CHECKSUMS_FILE} matches every file it lists`);

  report('sbom', await sbomFailures(dir, artifacts), 'every binary of the tarballs is in an SBOM with its sha256');
  return results.every(Boolean);
}

function parseStatement(text: string): { subject: Subject[] } | undefined {
  try {
    const parsed = JSON.parse(text) as { _type?: string; predicateType?: string; subject?: Subject[] };
    return parsed._type === STATEMENT_TYPE && parsed.predicateType === SLSA_PROVENANCE && Array.isArray(parsed.subject)
      ? { subject: parsed.subject }
      : undefined;
  } catch {
    return undefined;
  }
}

async function sbomFailures(dir: string, artifacts: readonly string[]): Promise<string[]> {
  const described = new Map<string, string>();
  for (const name of artifacts.filter((file) => file.endsWith('.spdx.json'))) {
    const document = JSON.parse(await readFile(join(dir, name), 'utf8')) as SpdxDocument;
    for (const pkg of document.packages.filter((candidate) => candidate.primaryPackagePurpose === 'APPLICATION')) {
      const sha = pkg.checksums?.find((checksum) => checksum.algorithm === 'SHA256')?.checksumValue;
      if (sha) described.set(pkg.name, sha);
    }
  }
  if (described.size === 0) return ['no SBOM describes any binary'];
  const unpacked = await mkdtemp(join(tmpdir(), 'moby-make-verify-'));
  try {
    const failures: string[] = [];
    for (const tarball of artifacts.filter((file) => file.endsWith('.tgz'))) {
      const into = join(unpacked, tarball);
      await mkdir(into, { recursive: true });
      const extracted = await run(['tar', '-xzf', join(dir, tarball), '-C', into]);
      if (extracted.exitCode !== 0) {
        failures.push(`${tarball} does not unpack: ${extracted.stderr.trim()}`);
        continue;
      }
      const listed = (await run(['tar', '-tzf', join(dir, tarball)])).stdout.split('\n').filter((entry) => entry && !entry.endsWith('/'));
      for (const entry of listed) {
        const recorded = described.get(basename(entry));
        if (!recorded) failures.push(`${tarball}: ${entry} is in no SBOM`);
        else if ((await sha256File(join(into, entry))) !== recorded) failures.push(`${tarball}: ${entry} is not the binary the SBOM describes`);
      }
    }
    return failures;
  } finally {
    await rm(unpacked, { recursive: true, force: true });
  }
}
