import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundlePaths } from '../../core/bundle-layout.js';
import { readManifest } from '../../core/manifest.js';
import { defaultBundlesDir } from '../../tasks/paths.js';
import { runTask } from '../support/cli.js';

const bundlesDir = defaultBundlesDir(process.env);
const arm64 = join(bundlesDir, 'cross', 'linux-arm64');

/**
 * moby's make cross and binary-smoketest for linux/arm64, against this
 * machine's bundle (which the integration project's setup builds): the cross
 * compiler, multiarch libseccomp and qemu-user-static are installed as any
 * prerequisite is, the first time.
 */
describe('cross builds (npm run make -- --platform)', () => {
  it('builds linux/arm64 into bundles/cross and passes the smoke test under QEMU', { timeout: 2_400_000 }, async () => {
    const result = await runTask('make', ['--platform', 'linux/arm64', '--smoke', '--allow-multiarch']);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    for (const binary of ['dockerd', 'docker-proxy', 'containerd', 'runc', 'docker-init']) {
      expect(result.stdout).toMatch(new RegExp(`^linux/arm64 ${binary}: ELF 64-bit LSB, machine 183, static; \\S`, 'm'));
    }
    expect(result.stdout).toMatch(/^linux\/arm64 docker: ELF 64-bit LSB, machine 183, static; Docker version /m);
    expect(result.stdout).toMatch(/^linux\/arm64: smoke test passed \(9 files checked/m);
    const manifest = readManifest(bundlePaths(arm64).current);
    expect(Object.values(manifest.components).map((record) => record.platform)).toEqual(Array(7).fill('linux/arm64'));
    expect(readManifest(bundlePaths(bundlesDir).current).components.daemon?.platform).toBeUndefined();
  });

  it('names a missing cross compiler with the exact commands under --no-install, and still builds the other platform', { timeout: 600_000 }, async () => {
    const result = await runTask('make', ['--platform', 'linux/arm/v6,linux/arm64', '--no-install']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: linux\/arm\/v6: missing prerequisites: gcc-arm-linux-gnueabi \(C code for linux\/arm\/v6\), libc6-dev-armel-cross \(static linking for linux\/arm\/v6\), libseccomp-dev:armel \(runc's seccomp support for linux\/arm\/v6\)$/m,
    );
    expect(result.stderr).toMatch(
      /Run as root: dpkg --add-architecture armel && apt-get update && apt-get install -y --no-install-recommends .*gcc-arm-linux-gnueabi/,
    );
    expect(result.stderr).toMatch(/^error: not built for linux\/arm\/v6; built for linux\/arm64$/m);
    expect(existsSync(join(bundlesDir, 'cross', 'linux-arm-v6', 'binary-daemon'))).toBe(false);
  });

  it('reproduces the cross bundle from its manifest (verify-bundle)', { timeout: 900_000 }, async () => {
    const result = await runTask('verify-bundle', ['--manifest', join(bundlePaths(arm64).current, 'manifest.json'), '--only', 'proxy,runc']);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/2 of 2 files reproduced/);
    expect(readFileSync(join(bundlePaths(arm64).current, 'runc.sha256'), 'utf8')).toMatch(/^[0-9a-f]{64} {2}runc\n$/);
  });
});
