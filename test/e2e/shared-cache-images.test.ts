import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../tasks/paths.js';
import { startRegistry, type TestRegistry } from '../../tasks/lib/loopback-registry.js';
import { runTask, type CliResult } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { cacheConfig, type CacheConfig } from '../../cache/config.js';
import { readUses, writeUses } from '../../cache/entry-uses.js';
import { registryClient } from '../../cache/credentials.js';

const IMAGE = 'hello-world:frozen';
const REPOSITORY = 'team/frozen';

/** Every file of a machine's frozen-image cache (logs aside) with its sha256: what two machines must share byte for byte. */
function cacheFiles(cacheDir: string): Record<string, string> {
  const root = join(cacheDir, 'frozen-images');
  const listing = execFileSync('sh', ['-c', 'find . -path ./logs -prune -o -path ./.work -prune -o -type f -print0 | sort -z | xargs -0 sha256sum'], {
    cwd: root,
    encoding: 'utf8',
  });
  const files: Record<string, string> = {};
  for (const line of listing.trim().split('\n')) {
    const [sha256 = '', path = ''] = line.split(/\s+/);
    files[path] = sha256;
  }
  return files;
}

/**
 * moby's frozen images through the shared cache: machine A makes one and
 * pushes it as an ordinary image; machine B (an empty cache of its own)
 * takes it instead of making it, and every refusal ends in making it locally.
 */
describe('frozen images on the shared cache registry', () => {
  let registry: TestRegistry;
  const a = tempDir('frozen-a');
  const env = (extra: Record<string, string> = {}) => registry.env({ MOBY_MAKE_CACHE_REGISTRY: `${registry.host}/${REPOSITORY}`, ...extra });
  const frozen = (cacheDir: string, extra: Record<string, string> = {}): Promise<CliResult> =>
    runTask('frozen-images', ['--no-load', '--only', IMAGE], { ...env(extra), MOBY_MAKE_CACHE: cacheDir });

  beforeAll(async () => {
    registry = await startRegistry(tempDir('frozen-registry'));
    const pushed = await frozen(a, { MOBY_MAKE_CACHE_PUSH: '1' });
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(/^hello-world:frozen: making it: /m);
    expect(pushed.stdout).toMatch(new RegExp(`^hello-world:frozen: pushed to ${registry.host}/${REPOSITORY}@sha256:[0-9a-f]{64}$`, 'm'));
  }, 300_000);
  afterAll(async () => registry?.stop());

  it('B takes it from the registry instead of making it: the same bytes for every file, and the registry holds the very manifest of the layout', async () => {
    const b = tempDir('frozen-b');
    const taken = await frozen(b);
    expect(taken.stderr).toBe('');
    expect(taken.code).toBe(0);
    expect(taken.stdout).not.toMatch(/making it/);
    const ref = new RegExp(`^hello-world:frozen: from cache ${registry.host}/${REPOSITORY}@(sha256:[0-9a-f]{64}) in `, 'm').exec(taken.stdout)?.[1];
    expect(ref).toBeDefined();
    expect(cacheFiles(b)).toEqual(cacheFiles(a));
    const [layout] = readdirSync(join(b, 'frozen-images')).filter((name) => name.startsWith('hello-world'));
    const keyDir = join(b, 'frozen-images', layout as string);
    const [key] = readdirSync(keyDir);
    const index = JSON.parse(readFileSync(join(keyDir, key as string, 'archive', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests[0]?.digest).toBe(ref);

    const listed = await runTask('cache', ['ls'], env());
    // A frozen image's manifest carries no push time: its push is recorded as its first use.
    const today = new Date().toISOString().slice(0, 10);
    expect(listed.stdout).toMatch(
      new RegExp(`^frozen-image/${layout as string} {2}[0-9a-f]{12} {2}\\d+\\.\\d MB {2}pushed unknown {2}used ${today} {2}unsigned {2}${ref as string}$`, 'm'),
    );

    // An older key of the same image (as a recipe's inputs change), last used in 1970: prune takes it and keeps the one used today.
    const client = await registryClient(cacheConfig(env()) as CacheConfig, env());
    const manifest = await client.manifest(`frozen-${layout as string}-${key as string}`);
    const olderKey = 'e'.repeat(32);
    // Made to other bytes than today's (a manifest of its own): the same manifest under two tags is one entry to delete.
    const older = { ...(JSON.parse((manifest as { body: Buffer }).body.toString()) as object), annotations: { 'org.example.made': 'long ago' } };
    await client.putManifest(`frozen-${layout as string}-${olderKey}`, Buffer.from(JSON.stringify(older)));
    await writeUses(client, `frozen-${layout as string}`, new Map([...(await readUses(client, `frozen-${layout as string}`)), [olderKey, 0]]));
    const pruned = await runTask('cache', ['prune', '--older-than', '1d'], env());
    expect(pruned.stderr).toBe('');
    expect(pruned.stdout).toMatch(new RegExp(`^removed frozen-image/${layout as string} {2}${olderKey.slice(0, 12)} `, 'm'));
    expect(pruned.stdout).toMatch(/^pruned 1 entries .*, kept 1;/m);
    expect(await client.hasManifest(`frozen-${layout as string}-${key as string}`)).toBe(true);
    expect([...(await readUses(client, `frozen-${layout as string}`)).keys()]).toEqual([key]);
  });

  it('--cache-registry names the registry without the variable, and a malformed one is a one-line error naming the flag', async () => {
    const b = tempDir('frozen-flag');
    const flagged = (registryFlag: string) =>
      runTask('frozen-images', ['--no-load', '--only', IMAGE, '--cache-registry', registryFlag], {
        ...env({ MOBY_MAKE_CACHE_REGISTRY: '' }),
        MOBY_MAKE_CACHE: b,
      });
    const taken = await flagged(`${registry.host}/${REPOSITORY}`);
    expect(taken.stderr).toBe('');
    expect(taken.code).toBe(0);
    expect(taken.stdout).toMatch(new RegExp(`^hello-world:frozen: from cache ${registry.host}/${REPOSITORY}@sha256:[0-9a-f]{64} in `, 'm'));
    expect(cacheFiles(b)).toEqual(cacheFiles(a));
    const wrong = await flagged(`https://${registry.host}/${REPOSITORY}`);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(new RegExp(`^error: --cache-registry=https://${registry.host}/${REPOSITORY} is not host\\[:port\\]/repository`, 'm'));
  });

  it('a tampered layer is refused as a corrupt entry and the image is made locally, to the same bytes', async () => {
    const layer = Object.entries(cacheFiles(a)).find(([path]) => path.includes('/blobs/sha256/') && readFileSync(join(a, 'frozen-images', path)).length > 4096);
    expect(layer).toBeDefined();
    const digest = (layer as [string, string])[1];
    const blob = join(registry.storage, 'docker/registry/v2/blobs/sha256', digest.slice(0, 2), digest, 'data');
    const original = readFileSync(blob);
    const tampered = Buffer.from(original);
    tampered[100] = (tampered[100] ?? 0) ^ 0xff;
    writeFileSync(blob, tampered);
    try {
      const b = tempDir('frozen-tampered');
      const result = await frozen(b);
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(
        new RegExp(`warning: cache entry ${registry.host}/${REPOSITORY}@sha256:[0-9a-f]{64} is corrupt \\(expected sha256:${digest}`),
      );
      expect(result.stdout).toMatch(/^hello-world:frozen: making it: /m);
      expect(cacheFiles(b)).toEqual(cacheFiles(a));
    } finally {
      writeFileSync(blob, original);
    }
  });

  it('with a verify key an unsigned image is refused and made locally; a signed one is taken', async () => {
    const cosign = join(projectRoot, 'test', 'fixtures', 'cosign');
    const verifying = { MOBY_MAKE_CACHE_VERIFY_KEY: join(cosign, 'cosign.pub') };
    const b = tempDir('frozen-unsigned');
    const refused = await frozen(b, verifying);
    expect(refused.code).toBe(0);
    expect(refused.stderr).toMatch(/warning: cache entry \S+@sha256:[0-9a-f]{64} is refused: it is not signed/);
    expect(refused.stdout).toMatch(/making it/);

    // A signing runner, against a repository of its own: what it pushes carries cosign's signature tag.
    const signedRepository = { MOBY_MAKE_CACHE_REGISTRY: `${registry.host}/team/frozen-signed` };
    const signer = await frozen(a, {
      ...signedRepository,
      MOBY_MAKE_CACHE_PUSH: '1',
      MOBY_MAKE_CACHE_SIGN_KEY: join(cosign, 'cosign.key'),
      COSIGN_PASSWORD: 'moby-make-test',
    });
    expect(signer.stderr).toBe('');
    expect(signer.stdout).toMatch(/hello-world:frozen: in the cache .*\n.*pushed to /);
    const c = tempDir('frozen-signed');
    const taken = await frozen(c, { ...signedRepository, ...verifying });
    expect(taken.stderr).toBe('');
    expect(taken.stdout).toMatch(/from cache /);
  });
});
