import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DigestMemo } from '../core/digest-memo.js';
import { UserError } from '../core/errors.js';
import { MANIFEST_FILE, readManifest, type Manifest } from '../core/manifest.js';

/** What dockerd execs from PATH to run containers; without any of them the stack is not the bundle's. */
export const DAEMON_STACK = ['dockerd', 'containerd', 'containerd-shim-runc-v2', 'runc', 'docker-init', 'docker-proxy'] as const;

const MAKE_HINT = 'Build it with: npm run make';

/**
 * Checks every bundle file against its .sha256 sidecar and the manifest, and
 * returns the manifest. Refuses a missing or incomplete bundle and names every
 * file that does not match, so a half-copied or edited binary never runs.
 * A file whose bytes kept the identity make or an earlier start proved them
 * with is not read again (`digestsFile`, core/digest-memo.ts).
 */
export async function verifyBundle(bundleDir: string, digestsFile: string): Promise<Manifest> {
  if (!existsSync(join(bundleDir, MANIFEST_FILE))) {
    throw new UserError(`there is no built bundle at ${bundleDir}`, MAKE_HINT);
  }
  const manifest = readManifest(bundleDir);
  const missing = DAEMON_STACK.filter((name) => !manifest.files[name] || !existsSync(join(bundleDir, name)));
  if (missing.length > 0) {
    throw new UserError(`the bundle at ${bundleDir} lacks ${missing.join(', ')}`, MAKE_HINT);
  }

  const memo = DigestMemo.open(digestsFile);
  const names = (await readdir(bundleDir)).filter((name) => !name.endsWith('.sha256') && !name.endsWith('.md5')).sort();
  // All at once: the hashing runs on worker threads, one file per core.
  const verdicts = await Promise.all(
    names.map(async (name): Promise<string | undefined> => {
      const path = join(bundleDir, name);
      const sidecar = await readFile(`${path}.sha256`, 'utf8').catch(() => undefined);
      const expected = sidecar?.split(/\s+/)[0];
      if (!expected) return `${name}: no ${name}.sha256 beside it`;
      const actual = await memo.sha256(path);
      const recorded = name === MANIFEST_FILE ? expected : manifest.files[name]?.sha256;
      if (actual !== expected) return `${name}: sha256 ${actual} but ${name}.sha256 says ${expected}`;
      if (recorded !== actual) return `${name}: sha256 ${actual} but manifest.json says ${recorded ?? 'nothing'}`;
      return undefined;
    }),
  );
  const problems = verdicts.filter((problem) => problem !== undefined);
  await memo.save();
  if (problems.length > 0) {
    throw new UserError(
      `the bundle at ${bundleDir} does not match its checksums, refusing to run it:\n${problems.map((p) => `  ${p}`).join('\n')}`,
      `Rebuild it with: npm run make (a changed file is rebuilt; delete ${bundleDir} to rebuild everything)`,
    );
  }
  return manifest;
}
