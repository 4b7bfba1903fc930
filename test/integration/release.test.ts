import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, symlinkSync, writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { CLIENT_BUNDLE, DAEMON_BUNDLE } from '../../core/bundle-layout.js';
import { readManifest, type Manifest } from '../../core/manifest.js';
import { run } from '../../core/process.js';
import { pae } from '../../release/provenance.js';
import type { SpdxDocument } from '../../release/sbom.js';
import { debUpstreamVersion } from '../../release/version.js';
import { projectRoot } from '../../tasks/paths.js';
import { runTask, type CliResult } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { IMAGE } from './support/image.js';

const cosign = join(projectRoot, 'test/fixtures/cosign');
const SIGNING = { MOBY_MAKE_SIGN_KEY: join(cosign, 'cosign.key'), COSIGN_PASSWORD: 'moby-make-test', SOURCE_DATE_EPOCH: undefined };

/** A bundles root of its own whose bundles are the real ones (symlinked), so releases land in a temporary folder. */
function bundlesRoot(name: string, edit?: { drop?: string; manifest?: (manifest: Manifest) => void }): string {
  const root = tempDir(name);
  for (const bundle of [DAEMON_BUNDLE, CLIENT_BUNDLE]) {
    const real = realpathSync(join(inject('bundlesDir'), bundle));
    if (!edit || bundle === CLIENT_BUNDLE) {
      symlinkSync(real, join(root, bundle));
      continue;
    }
    mkdirSync(join(root, bundle));
    for (const file of readdirSync(real)) if (file !== 'manifest.json' && file !== edit.drop) symlinkSync(join(real, file), join(root, bundle, file));
    const manifest = readManifest(real);
    edit.manifest?.(manifest);
    writeFileSync(join(root, bundle, 'manifest.json'), JSON.stringify(manifest));
  }
  return root;
}

function releaseOf(root: string): string {
  const versions = readdirSync(join(root, 'release')).filter((name) => !name.startsWith('.'));
  expect(versions).toHaveLength(1);
  return join(root, 'release', versions[0]!);
}

function expectOk(result: CliResult, what: string): void {
  expect(result.code, `${what}:\n${result.stdout}${result.stderr}`).toBe(0);
}

/** A refused run: one line naming the problem, and nothing under release/ (not even a temporary folder). */
function expectRefused(result: CliResult, root: string, message: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(message);
  expect(existsSync(join(root, 'release')) ? readdirSync(join(root, 'release')) : []).toEqual([]);
}

describe('npm run package: the bundles as release artifacts', () => {
  let root: string;
  let dir: string;
  let packaged: CliResult;
  beforeAll(async () => {
    root = bundlesRoot('release');
    packaged = await runTask('package', ['--bundles', root], SIGNING);
    expectOk(packaged, 'npm run package');
    dir = releaseOf(root);
  });

  it('lays out the static tarballs as docker-ce-packaging does: sorted, root-owned, one mtime, the bundle files unchanged', async () => {
    const daemon = readManifest(join(root, DAEMON_BUNDLE));
    const version = daemon.components.daemon!.source.version.replace(/^v/, '');
    const listing = (await run(['tar', '--full-time', '-tvzf', join(dir, `docker-${version}.tgz`)], { env: { ...process.env, TZ: 'UTC' } })).stdout
      .trim()
      .split('\n');
    const names = listing.map((line) => line.split(/\s+/).pop());
    // The daemon's commit time, as the plan line says (SOURCE_DATE_EPOCH is unset).
    const stamp = /^timestamps: (\S+)T(\S{8})/m.exec(packaged.stdout);
    expect(stamp).not.toBeNull();
    // The test bundles are built without VERSION, so dockerd says `dev`, as hack/make.sh's default; the plan says how to stamp it.
    expect(packaged.stdout).toContain(`note: dockerd was built as version dev; to stamp ${version}: VERSION=${version} npm run make`);
    expect(names).toEqual([
      'docker/',
      ...['containerd', 'containerd-shim-runc-v2', 'ctr', 'docker', 'docker-init', 'docker-proxy', 'dockerd', 'runc'].map((n) => `docker/${n}`),
    ]);
    for (const line of listing) expect(line).toMatch(new RegExp(`^[d-]rwxr-xr-x root/root .* ${stamp![1]} ${stamp![2]} `));
    const extras = (await run(['tar', '-tzf', join(dir, `docker-rootless-extras-${version}.tgz`)])).stdout.trim().split('\n');
    expect(extras).toEqual([
      'docker-rootless-extras/',
      'docker-rootless-extras/dockerd-rootless-setuptool.sh',
      'docker-rootless-extras/dockerd-rootless.sh',
      'docker-rootless-extras/rootlesskit',
    ]);

    const unpacked = tempDir('static');
    expectOk({ ...(await run(['tar', '-xzf', join(dir, `docker-${version}.tgz`), '-C', unpacked])), code: 0 }, 'tar');
    const dockerd = await run([join(unpacked, 'docker/dockerd'), '--version']);
    expect(dockerd.stdout).toContain(daemon.components.daemon!.source.commit!.slice(0, 7));
    const sums = readFileSync(join(dir, 'SHA256SUMS'), 'utf8');
    for (const artifact of readdirSync(dir).filter((name) => /\.(tgz|deb|spdx\.json|jsonl)$/.test(name))) {
      expect(sums).toContain(`  ${artifact}\n`);
      expect(readFileSync(join(dir, `${artifact}.sha256`), 'utf8')).toMatch(new RegExp(`^[0-9a-f]{64}  ${artifact.replace(/[.+]/g, '\\$&')}\n$`));
    }
  });

  it('names, versions and relates the .debs as upstream does, and lintian finds no error', async () => {
    const field = async (deb: string, name: string) => (await run(['dpkg-deb', '-f', join(dir, deb), name])).stdout.trim();
    const debs = readdirSync(dir).filter((name) => name.endsWith('.deb'));
    const engine = debs.find((name) => name.startsWith('docker-ce_'))!;
    const version = readManifest(join(root, DAEMON_BUNDLE)).components.daemon!.source.version.replace(/^v/, '');
    expect(await field(engine, 'Version')).toBe(`5:${debUpstreamVersion(version)}-1~debian.12~bookworm`);
    expect(await field(engine, 'Conflicts')).toContain('docker.io');
    expect(await field(engine, 'Depends')).toContain('containerd.io (>= 1.7.27)');
    const contents = (await run(['dpkg-deb', '-c', join(dir, engine)])).stdout;
    for (const path of [
      './usr/bin/dockerd',
      './usr/bin/docker-proxy',
      './usr/libexec/docker/docker-init',
      './lib/systemd/system/docker.service',
      './lib/systemd/system/docker.socket',
    ]) {
      expect(contents).toMatch(new RegExp(`^-\\S+ root/root .* ${path.replace(/\./g, '\\.')}$`, 'm'));
    }
    const containerd = debs.find((name) => name.startsWith('containerd.io_'))!;
    expect(await field(containerd, 'Version')).toBe(readManifest(join(root, DAEMON_BUNDLE)).components.containerd!.source.version.slice(1) + '-1');
    expect(await field(containerd, 'Provides')).toBe('containerd, runc');
    const unit = (await run(['sh', '-c', `dpkg-deb --fsys-tarfile '${join(dir, containerd)}' | tar -xO ./lib/systemd/system/containerd.service`])).stdout;
    expect(unit).toContain('ExecStart=/usr/bin/containerd\n');
    const cli = (
      await run([
        'dpkg-deb',
        '-c',
        join(
          dir,
          debs.find((name) => name.startsWith('docker-ce-cli_'))!,
        ),
      ])
    ).stdout;
    for (const path of ['./usr/bin/docker', './usr/share/bash-completion/completions/docker', './usr/share/zsh/vendor-completions/_docker']) {
      expect(cli).toMatch(new RegExp(`^-\\S+ root/root .* ${path.replace(/\./g, '\\.')}$`, 'm'));
    }
    expect(debs.map((name) => name.split('_')[0]).sort()).toEqual(['containerd.io', 'docker-ce', 'docker-ce-cli', 'docker-ce-rootless-extras']);
    expect(packaged.stdout.match(/^lintian +\S+\.deb: /gm)).toHaveLength(4);
  });

  it('writes an SBOM per bundle that the SPDX tools accept, with every binary and every Go module compiled into it', async () => {
    const validator = join(tempDir('spdx'), 'spdx-validate');
    expectOk({ ...(await run(['go', 'build', '-o', validator, '.'], { cwd: join(projectRoot, 'release/spdx-validate') })), code: 0 }, 'go build spdx-validate');
    const sboms = readdirSync(dir).filter((name) => name.endsWith('.spdx.json'));
    expect(sboms).toHaveLength(2);
    const validated = await run([validator, ...sboms.map((name) => join(dir, name))]);
    expect(validated.stdout, validated.stderr).toMatch(
      /binary-daemon-.*: valid\n.*binary-client-.*: valid|binary-client-.*: valid\n.*binary-daemon-.*: valid/s,
    );
    expect(validated.exitCode).toBe(0);

    const daemonBundle = readManifest(join(root, DAEMON_BUNDLE));
    const document = JSON.parse(
      readFileSync(
        join(
          dir,
          sboms.find((name) => name.startsWith('binary-daemon'))!,
        ),
        'utf8',
      ),
    ) as SpdxDocument;
    const runc = document.packages.find((pkg) => pkg.name === 'runc')!;
    expect(runc.checksums?.[0]?.checksumValue).toBe(daemonBundle.files.runc!.sha256);
    const runcDeps = document.relationships
      .filter((r) => r.spdxElementId === runc.SPDXID)
      .map((r) => document.packages.find((pkg) => pkg.SPDXID === r.relatedSpdxElement)!);
    expect(runcDeps.map((pkg) => pkg.name)).toEqual(expect.arrayContaining(['github.com/cilium/ebpf', 'glibc', 'libseccomp']));
    const ebpf = runcDeps.find((pkg) => pkg.name === 'github.com/cilium/ebpf')!;
    expect(ebpf.comment).toMatch(/^go\.sum h1:/);
    const goSum = readFileSync(
      join(
        (await run(['go', 'mod', 'download', '-json', `github.com/opencontainers/runc@${daemonBundle.components.runc!.source.version}`])).stdout.match(
          /"Dir": "([^"]+)"/,
        )![1]!,
        'go.sum',
      ),
      'utf8',
    );
    expect(goSum).toContain(`github.com/cilium/ebpf ${ebpf.versionInfo} ${ebpf.comment!.slice('go.sum '.length)}`);
  });

  it('signs the provenance so that verify, and openssl on its own, accept it with the public key and not with another', async () => {
    expectOk(await runTask('package', ['verify', '--bundles', root, '--key', join(cosign, 'cosign.pub')]), 'verify');
    const other = await runTask('package', ['verify', '--bundles', root, '--key', join(cosign, 'other/cosign.pub')]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('signature: FAILED — no signature of this key');

    const envelope = JSON.parse(readFileSync(join(dir, 'provenance.intoto.jsonl'), 'utf8')) as {
      payloadType: string;
      payload: string;
      signatures: Array<{ sig: string }>;
    };
    const scratch = tempDir('dsse');
    writeFileSync(join(scratch, 'pae'), pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64')));
    writeFileSync(join(scratch, 'sig'), Buffer.from(envelope.signatures[0]!.sig, 'base64'));
    const openssl = await run(['openssl', 'dgst', '-sha256', '-verify', join(cosign, 'cosign.pub'), '-signature', join(scratch, 'sig'), join(scratch, 'pae')]);
    expect(openssl.stdout.trim()).toBe('Verified OK');
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString()) as {
      predicate: { buildDefinition: { resolvedDependencies: Array<{ name: string; digest: Record<string, string> }> } };
    };
    expect(statement.predicate.buildDefinition.resolvedDependencies.find((d) => d.name === 'binary-daemon/daemon')?.digest.gitCommit).toMatch(/^[0-9a-f]{40}$/);
  });

  it('verify finds a changed artifact and a binary the SBOM does not describe', async () => {
    const copy = join(tempDir('tampered'), 'release');
    cpSync(dir, copy, { recursive: true });
    const sbom = readdirSync(copy).find((name) => name.startsWith('binary-daemon'))!;
    const document = JSON.parse(readFileSync(join(copy, sbom), 'utf8')) as SpdxDocument;
    document.packages.find((pkg) => pkg.name === 'dockerd')!.checksums![0]!.checksumValue = '0'.repeat(64);
    writeFileSync(join(copy, sbom), JSON.stringify(document));
    const result = await runTask('package', ['verify', '--dir', copy, '--key', join(cosign, 'cosign.pub')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('signature: ok');
    expect(result.stderr).toContain(`subjects: FAILED — ${sbom} is not the file the provenance names`);
    expect(result.stderr).toContain('docker/dockerd is not the binary the SBOM describes');
  });

  it('installs: the .debs with apt-get in a Debian container, their dockerd runs a container, purge leaves nothing; the static tarball runs too', async () => {
    const checked = await runTask('package', ['install-check', '--bundles', root, '--dir', dir, '--image', IMAGE], {
      DOCKER_HOST: `unix://${inject('devDaemonSocket')}`,
    });
    expectOk(checked, 'npm run package -- install-check');
    const stages = checked.stdout.split('\n').filter((line) => /^(debs-installed|engine-ran|debs-purged|static-ran) /.test(line));
    expect(stages).toEqual([
      expect.stringMatching(/^debs-installed +containerd\.io 2\.\S+-1, docker-ce 5:\S+, docker-ce-cli 5:\S+, docker-ce-rootless-extras 5:\S+ \(/),
      expect.stringMatching(/^engine-ran +dockerd \S+, containerd v\S+ ran a container/),
      expect.stringMatching(/^debs-purged +4 packages purged, none of their files left/),
      expect.stringMatching(/^static-ran +dockerd \S+, containerd v\S+ ran a container/),
    ]);
    const engine = `unix://${inject('devDaemonSocket')}`;
    const containers = await run([join(inject('bundlesDir'), CLIENT_BUNDLE, 'docker'), 'ps', '-aq', '--filter', 'name=moby-make-install-check'], {
      env: { ...process.env, DOCKER_HOST: engine },
    });
    expect(containers.stdout.trim(), 'the check removes its container').toBe('');
  });

  it('install-check refuses a folder that is not a release, in one line', async () => {
    const empty = tempDir('release-empty');
    const result = await runTask('package', ['install-check', '--dir', empty], { DOCKER_HOST: `unix://${inject('devDaemonSocket')}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*release-empty-\w+ is not a release folder \(no provenance\.intoto\.jsonl\)/m);
  });

  it('gives the same bytes again: every artifact but the signed provenance has the same sha256', async () => {
    const again = bundlesRoot('release-again');
    expectOk(await runTask('package', ['--bundles', again, '--no-lintian']), 'npm run package (again)');
    const sums = (folder: string) =>
      readFileSync(join(folder, 'SHA256SUMS'), 'utf8')
        .split('\n')
        .filter((line) => line && !line.endsWith('provenance.intoto.jsonl'));
    expect(sums(releaseOf(again))).toEqual(sums(dir));
    expect(sums(dir)).toHaveLength(8);
  });

  it('refuses bad input with one line and writes nothing under release/', async () => {
    const missing = bundlesRoot('release-missing', { drop: 'runc' });
    expectRefused(
      await runTask('package', ['--bundles', missing, '--no-lintian']),
      missing,
      /^error: .*binary-daemon\/runc is missing, though the bundle's manifest lists it/m,
    );

    const dirty = bundlesRoot('release-dirty', { manifest: (manifest) => void (manifest.components.daemon!.source.dirty = true) });
    expectRefused(await runTask('package', ['--bundles', dirty, '--no-lintian']), dirty, /^error: daemon was built from a tree with uncommitted changes/m);

    const unsigned = bundlesRoot('release-unsigned');
    expectRefused(
      await runTask('package', ['--bundles', unsigned, '--sign', '--no-lintian'], { MOBY_MAKE_SIGN_KEY: undefined }),
      unsigned,
      /^error: --sign was asked for, but MOBY_MAKE_SIGN_KEY is not set/m,
    );
  });
});
