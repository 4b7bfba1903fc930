import { existsSync } from 'node:fs';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '../core/json-file.js';
import { UserError } from '../core/errors.js';
import { sha256File } from '../core/hashing.js';
import { MANIFEST_FILE, readManifest, type Manifest } from '../core/manifest.js';

/** What dockerd execs from PATH to run containers; without any of them the stack is not the bundle's. */
export const DAEMON_STACK = ['dockerd', 'containerd', 'containerd-shim-runc-v2', 'runc', 'docker-init', 'docker-proxy'] as const;

const MAKE_HINT = 'Build it with: npm run make';

/**
 * Identity of a file's bytes without reading them: any write changes ctime
 * and replacing the file changes the inode, as git's index relies on.
 */
const verdictSchema = z.object({ ino: z.string(), size: z.string(), mtimeNs: z.string(), ctimeNs: z.string(), sha256: z.string() });
const verdictCacheSchema = z.record(z.string(), verdictSchema);
type VerdictCache = z.infer<typeof verdictCacheSchema>;

/**
 * Checks every bundle file against its .sha256 sidecar and the manifest, and
 * returns the manifest. Refuses a missing or incomplete bundle and names every
 * file that does not match, so a half-copied or edited binary never runs.
 */
export async function verifyBundle(bundleDir: string, cacheFile?: string): Promise<Manifest> {
  if (!existsSync(join(bundleDir, MANIFEST_FILE))) {
    throw new UserError(`there is no built bundle at ${bundleDir}`, MAKE_HINT);
  }
  const manifest = readManifest(bundleDir);
  const missing = DAEMON_STACK.filter((name) => !manifest.files[name] || !existsSync(join(bundleDir, name)));
  if (missing.length > 0) {
    throw new UserError(`the bundle at ${bundleDir} lacks ${missing.join(', ')}`, MAKE_HINT);
  }

  const cache = cacheFile ? readCache(cacheFile) : {};
  const nextCache: VerdictCache = {};
  const names = (await readdir(bundleDir)).filter((name) => !name.endsWith('.sha256') && !name.endsWith('.md5')).sort();
  // All at once: the hashing runs on worker threads, one file per core.
  const verdicts = await Promise.all(
    names.map(async (name): Promise<string | undefined> => {
      const path = join(bundleDir, name);
      const sidecar = await readFile(`${path}.sha256`, 'utf8').catch(() => undefined);
      const expected = sidecar?.split(/\s+/)[0];
      if (!expected) return `${name}: no ${name}.sha256 beside it`;
      const actual = await hashWithCache(path, cache, nextCache);
      const recorded = name === MANIFEST_FILE ? expected : manifest.files[name]?.sha256;
      if (actual !== expected) return `${name}: sha256 ${actual} but ${name}.sha256 says ${expected}`;
      if (recorded !== actual) return `${name}: sha256 ${actual} but manifest.json says ${recorded ?? 'nothing'}`;
      return undefined;
    }),
  );
  const problems = verdicts.filter((problem) => problem !== undefined);
  if (cacheFile) await writeFile(cacheFile, `${JSON.stringify(nextCache)}\n`).catch(() => undefined);
  if (problems.length > 0) {
    throw new UserError(
      `the bundle at ${bundleDir} does not match its checksums, refusing to run it:\n${problems.map((p) => `  ${p}`).join('\n')}`,
      `Rebuild it with: npm run make (a changed file is rebuilt; delete ${bundleDir} to rebuild everything)`,
    );
  }
  return manifest;
}

async function hashWithCache(path: string, cache: VerdictCache, nextCache: VerdictCache): Promise<string> {
  const info = await stat(path, { bigint: true });
  const identity = { ino: String(info.ino), size: String(info.size), mtimeNs: String(info.mtimeNs), ctimeNs: String(info.ctimeNs) };
  const known = cache[path];
  const sha256 =
    known && known.ino === identity.ino && known.size === identity.size && known.mtimeNs === identity.mtimeNs && known.ctimeNs === identity.ctimeNs
      ? known.sha256
      : await sha256File(path);
  nextCache[path] = { ...identity, sha256 };
  return sha256;
}

function readCache(file: string): VerdictCache {
  return readJsonFile(file, verdictCacheSchema) ?? {};
}
