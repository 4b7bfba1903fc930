import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST_FILE, MANIFEST_SCHEMA, ManifestError, emptyManifest, readManifest, serializeManifest, type Manifest } from '../../core/manifest.js';
import { tempDir } from '../support/temp.js';

describe('manifest', () => {
  const manifest: Manifest = {
    ...emptyManifest(),
    components: {
      runc: {
        fingerprint: 'f'.repeat(64),
        source: {
          kind: 'module',
          identity: 'github.com/opencontainers/runc@v1.4.3 h1:x',
          version: 'v1.4.3',
          commit: 'bb14dab',
          origin: { module: 'github.com/opencontainers/runc', version: 'v1.4.3' },
        },
        extraSources: {},
        toolchain: { go: 'go1.26.8' },
        commands: ['go build .'],
        outputs: ['runc'],
      },
    },
    files: { runc: { component: 'runc', sha256: 'a'.repeat(64), md5: 'b'.repeat(32), size: 3 } },
  };

  it('round-trips through its file', () => {
    const dir = tempDir('manifest');
    writeFileSync(join(dir, MANIFEST_FILE), serializeManifest(manifest));
    expect(readManifest(dir)).toEqual(manifest);
  });

  it('is empty where there is no bundle yet', () => {
    expect(readManifest(tempDir('manifest'))).toEqual(emptyManifest());
  });

  it('names the file and the fix when it is not JSON or not the shape this version writes', () => {
    const dir = tempDir('manifest');
    const file = join(dir, MANIFEST_FILE);
    writeFileSync(file, '{ not json');
    expect(() => readManifest(dir)).toThrow(new RegExp(`^${file} is not a valid bundle manifest: `));
    writeFileSync(file, serializeManifest(manifest).replace(`"${'a'.repeat(64)}"`, '"edited-by-hand"'));
    expect(() => readManifest(dir)).toThrow(ManifestError);
    expect(() => readManifest(dir)).toThrow(/files\.runc\.sha256/);
    try {
      readManifest(dir);
    } catch (error) {
      expect((error as ManifestError).hint).toBe('Rebuild the bundle with: npm run make');
    }
  });

  it('reads a manifest of an older schema as one to rebuild, saying why', () => {
    const dir = tempDir('manifest');
    writeFileSync(join(dir, MANIFEST_FILE), serializeManifest(manifest).replace(`"schema": ${MANIFEST_SCHEMA}`, '"schema": 1'));
    expect(() => readManifest(dir)).toThrow(/written by an older moby-make \(schema 1, this one writes 2\) and its commands cannot be replayed/);
  });

  it('explains its placeholders and how to replay its commands in the file itself', () => {
    const json = JSON.parse(serializeManifest(manifest)) as { replay: { placeholders: Record<string, string> } };
    expect(Object.keys(json.replay.placeholders)).toEqual(['@SRC@', '@SRC:<extra>@', '@WORK@', '@OUT@']);
  });

  it('serializes with sorted keys so identical bundles have identical manifests', () => {
    const shuffled: Manifest = { ...manifest, files: { z: { ...manifest.files.runc!, component: 'z' }, ...manifest.files } };
    expect(serializeManifest(shuffled).indexOf('"runc"')).toBeLessThan(serializeManifest(shuffled).indexOf('"z"'));
  });
});
