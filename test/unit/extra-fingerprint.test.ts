import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Step } from '../../builder/recipes/steps.js';
import { extraFingerprint } from '../../builder/extra-fingerprint.js';
import type { ResolvedSource } from '../../builder/model.js';
import { tempDir } from '../support/temp.js';

/** rootlesskit's extra tree: moby, from which it copies the rootless scripts. */
describe("an extra tree's part of the cache key", () => {
  const dir = tempDir('extra-tree');
  mkdirSync(join(dir, 'contrib'));
  mkdirSync(join(dir, 'daemon'));
  const copies: Step[] = [
    { kind: 'copy', from: '@SRC:moby@/contrib/dockerd-rootless.sh', to: '@OUT@/dockerd-rootless.sh', mode: 0o755 },
    { kind: 'exec', argv: ['go', 'build', './cmd/rootlesskit'], cwd: '@SRC@', env: {} },
  ];
  const checkout = (identity: string): ResolvedSource => ({ kind: 'path', dir, identity, version: 'dev' });

  it('is the digest of the copied files for a local checkout: an edit elsewhere in the tree leaves it as it was', async () => {
    writeFileSync(join(dir, 'contrib', 'dockerd-rootless.sh'), '#!/bin/sh\n');
    writeFileSync(join(dir, 'daemon', 'info.go'), 'package daemon\n');
    const before = await extraFingerprint('moby', checkout('git a dirty 1'), copies);
    writeFileSync(join(dir, 'daemon', 'info.go'), 'package daemon\n\nvar edited = 1\n');
    expect(await extraFingerprint('moby', checkout('git a dirty 2'), copies)).toBe(before);
    writeFileSync(join(dir, 'contrib', 'dockerd-rootless.sh'), '#!/bin/sh\nexit 1\n');
    expect(await extraFingerprint('moby', checkout('git a dirty 3'), copies)).not.toBe(before);
    expect(before).toMatch(/^copied files [0-9a-f]{64}$/);
  });

  it('is the identity of a pinned tree, and of a checkout the steps use other than by copying', async () => {
    const pinned: ResolvedSource = { kind: 'module', dir, identity: 'github.com/moby/moby/v2@v2.0.0 h1:x', version: 'v2.0.0' };
    expect(await extraFingerprint('moby', pinned, copies)).toBe(pinned.identity);
    const built: Step[] = [...copies, { kind: 'exec', argv: ['make', '-C', '@SRC:moby@'], cwd: '@SRC@', env: {} }];
    expect(await extraFingerprint('moby', checkout('git a dirty 4'), built)).toBe('git a dirty 4');
  });

  it('changes when a copied file is missing', async () => {
    const present = await extraFingerprint('moby', checkout('x'), copies);
    const missing: Step[] = [{ kind: 'copy', from: '@SRC:moby@/contrib/gone.sh', to: '@OUT@/gone.sh', mode: 0o755 }];
    expect(await extraFingerprint('moby', checkout('x'), missing)).not.toBe(present);
  });
});
