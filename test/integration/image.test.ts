import { existsSync, readFileSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { CLIENT_BUNDLE, DAEMON_BUNDLE } from '../../core/bundle-layout.js';
import { sha256File } from '../../core/hashing.js';
import { run } from '../../core/process.js';
import { readImageManifest } from '../../image/build.js';
import { projectRoot } from '../../tasks/paths.js';
import { runTask, type CliResult } from '../support/cli.js';
import { tempDir } from '../support/temp.js';

function expectOk(result: CliResult, what: string): void {
  expect(result.code, `${what}:\n${result.stdout}${result.stderr}`).toBe(0);
}

/** npm run image boots a real kernel under QEMU here: KVM only if the probe boot shows it works (on this machine it does not: TCG). */
describe('npm run image: the bundle as a kernel+initrd, booted under QEMU', () => {
  let root: string;
  let built: CliResult;
  beforeAll(async () => {
    root = tempDir('image');
    for (const bundle of [DAEMON_BUNDLE, CLIENT_BUNDLE]) symlinkSync(realpathSync(join(inject('bundlesDir'), bundle)), join(root, bundle));
    built = await runTask('image', ['--bundles', root]);
    expectOk(built, 'npm run image');
  }, 600_000);

  it('writes kernel, initrd.img and cmdline with sidecars and a manifest naming the Debian kernel and the bundle files', async () => {
    const dir = join(root, 'image');
    const manifest = readImageManifest(dir)!;
    expect(manifest.kernel.package).toMatch(/^linux-image-\d.*-amd64$/);
    for (const name of ['kernel', 'initrd.img', 'cmdline', 'manifest.json']) {
      const sha256 = await sha256File(join(dir, name));
      expect(readFileSync(join(dir, `${name}.sha256`), 'utf8')).toBe(`${sha256}  ${name}\n`);
      if (name !== 'manifest.json') expect(manifest.files[name]?.sha256).toBe(sha256);
    }
    const listing = (await run(['bsdtar', '-tf', join(dir, 'initrd.img')])).stdout.split('\n');
    expect(listing).toEqual(expect.arrayContaining(['init', 'dev/console', 'usr/bin/dockerd', 'usr/bin/containerd', 'usr/bin/runc', 'usr/bin/docker']));
    // The archive is sorted by path; the manifest lists the modules in load order (dependencies first).
    expect(listing.filter((path) => path.endsWith('.ko'))).toEqual([...new Set([...manifest.modules, ...manifest.autoload])].sort());
    expect(manifest.modules.some((path) => path.endsWith('/virtio_net.ko'))).toBe(true);
    expect(manifest.bundles[DAEMON_BUNDLE]?.dockerd).toBe(await sha256File(join(root, DAEMON_BUNDLE, 'dockerd')));
  });

  it('a second build with nothing changed is a no-op and keeps the same generation', async () => {
    const before = realpathSync(join(root, 'image'));
    const again = await runTask('image', ['--bundles', root]);
    expectOk(again, 'npm run image (again)');
    expect(again.stdout).toMatch(/image: up to date \(key [0-9a-f]{16}\)/);
    expect(realpathSync(join(root, 'image'))).toBe(before);
  });

  it('boots: /_ping, /info with the image kernel, cgroup v2 and the bundle pieces, a container prints; then it powers off and leaves no qemu', async () => {
    const checked = await runTask('image', ['--bundles', root, 'check']);
    expectOk(checked, 'npm run image -- check');
    expect(checked.stdout).toMatch(/^accelerator: (kvm|tcg) — /m);
    expect(checked.stdout).toMatch(/^ready in [\d.]+s .*: export DOCKER_HOST=unix:\/\/.*\/image-run\/docker\.sock$/m);
    const release = readImageManifest(join(root, 'image'))!.kernel.release;
    expect(checked.stdout).toContain(
      `proved: kernel ${release}, cgroup v2, the bundle's runc, containerd and docker-init; a container printed "moby-make image proof"`,
    );
    expect(checked.stdout).toMatch(/^powered off in [\d.]+s$/m);
    const consoleLog = readFileSync(join(root, 'image-run', 'console.log'), 'utf8');
    expect(consoleLog).toContain('moby-make-image: service dockerd stopped');
    expect(readdirSync(join(root, 'image-run'))).toEqual(['console.log']);
    const qemus = (await run(['pgrep', '-f', `${root}/.image-generations`])).stdout.trim();
    expect(qemus).toBe('');
  }, 600_000);

  it('an image.yml with an unknown field is refused in one line naming it, and the image stays', async () => {
    const before = realpathSync(join(root, 'image'));
    const file = join(tempDir('image-yml'), 'image.yml');
    writeFileSync(file, readFileSync(join(projectRoot, 'image.yml'), 'utf8').replace('  cmdline:', '  modulez: []\n  cmdline:'));
    const refused = await runTask('image', ['--bundles', root, '--file', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')[0]).toBe(`error: ${file}: unknown field kernel.modulez`);
    expect(realpathSync(join(root, 'image'))).toBe(before);
    expect(existsSync(join(before, 'initrd.img'))).toBe(true);
  });
});
