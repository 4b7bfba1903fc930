import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifest } from '../../core/manifest.js';
import { runTask } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { mobyCheckout } from '../support/moby-checkout.js';

describe('runc from its pinned module', () => {
  it('builds a static runc that reports the pinned version and commit', async () => {
    const bundles = tempDir('runc');
    const result = await runTask('make', ['--only', 'runc', '--bundles', bundles]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const bundle = join(bundles, 'binary-daemon');
    const version = execFileSync(join(bundle, 'runc'), ['--version'], { encoding: 'utf8' });
    expect(version).toMatch(/^runc version 1\.4\.3$/m);
    expect(version).toMatch(/^commit: v1\.4\.3-0-gbb14dabeb$/m);
    expect(version).toMatch(/^libseccomp: 2\./m);
    expect(execFileSync('file', [join(bundle, 'runc')], { encoding: 'utf8' })).toMatch(/static-pie linked|statically linked/);
    execFileSync('sh', ['-c', 'sha256sum -c runc.sha256 && md5sum -c runc.md5'], { cwd: bundle });
    const manifest = readManifest(bundle);
    // Reproducible from the record alone: the manifest's commands, replayed by sh with an empty Go build cache, give the same bytes.
    const replay = await runTask('verify-bundle', ['--manifest', bundle], { TMPDIR: tempDir('verify-runc') });
    expect(replay.stderr).toBe('');
    expect(replay.stdout).toMatch(new RegExp(`^runc: reproduced ${manifest.files.runc?.sha256}$`, 'm'));
    expect(replay.code).toBe(0);
    expect(manifest.components.runc?.source).toMatchObject({
      kind: 'module',
      version: 'v1.4.3',
      commit: 'bb14dabeb7185bb72c8c86735d090dcb20f36587',
      identity: expect.stringMatching(/^github\.com\/opencontainers\/runc@v1\.4\.3 h1:/),
    });
  });
});

describe("--dynamic (moby's dynbinary)", () => {
  it('builds a dynamic PIE runc linked against the system libseccomp, with the same stamps', async () => {
    const bundles = tempDir('runc-dynamic');
    const result = await runTask('make', ['--only', 'runc', '--dynamic', '--bundles', bundles]);
    expect(result.code).toBe(0);
    const runc = join(bundles, 'binary-daemon', 'runc');
    expect(execFileSync('ldd', [runc], { encoding: 'utf8' })).toMatch(/libseccomp\.so/);
    expect(execFileSync('file', [runc], { encoding: 'utf8' })).toMatch(/pie executable, .*dynamically linked/);
    expect(execFileSync(runc, ['--version'], { encoding: 'utf8' })).toMatch(/^commit: v1\.4\.3-0-gbb14dabeb$/m);
    expect(readManifest(join(bundles, 'binary-daemon')).components.runc?.commands[0]).not.toMatch(/static/);
  });
});

describe('the contributor flow: DAEMON_SRC points at a moby checkout', () => {
  it('builds that tree and stamps its HEAD, with -unsupported once it has uncommitted changes', async () => {
    const checkout = join(tempDir('moby'), 'moby');
    const { head } = mobyCheckout(checkout, 'my change to moby');
    const bundles = tempDir('daemon-src');
    const env = { DAEMON_SRC: checkout };

    const clean = await runTask('make', ['--only', 'daemon,proxy', '--bundles', bundles], env);
    expect(clean.code).toBe(0);
    const dockerd = join(bundles, 'binary-daemon', 'dockerd');
    expect(execFileSync(dockerd, ['--version'], { encoding: 'utf8' })).toBe(`Docker version dev, build ${head}\n`);
    expect(readManifest(join(bundles, 'binary-daemon')).components.daemon?.source).toMatchObject({ kind: 'path', commit: head, dirty: false });

    writeFileSync(join(checkout, 'cmd', 'dockerd', 'zz_local.go'), 'package main\n');
    const dirty = await runTask('make', ['--only', 'daemon', '--bundles', bundles], { ...env, VERSION: 'refs/tags/v29.9.9' });
    expect(dirty.code).toBe(0);
    expect(execFileSync(dockerd, ['--version'], { encoding: 'utf8' })).toBe(`Docker version 29.9.9, build ${head}-unsupported\n`);
  });
});
