import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../core/manifest.js';
import { runTask } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { writeGoModule, writeHelloComponent } from '../support/fixtures.js';
import { builtWithTwoComponents, fixture, realGo } from '../support/fixture-project.js';

const sha256Of = (file: string) => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];

describe('building a fixture module from a path source', () => {
  const project = fixture();
  beforeAll(async () => {
    const first = await project.make();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
  });

  it('produces a working binary stamped with the checkout commit and commit time', () => {
    const output = execFileSync(join(project.bundle, 'hello'), { encoding: 'utf8' });
    expect(output).toMatch(new RegExp(`^hello version=\\S+ commit=${project.commit} built=\\d{4}-\\d\\d-\\d\\dT`));
    expect(output).not.toContain('unsupported');
  });

  it('writes sidecars that coreutils verifies inside the folder', () => {
    const check = execFileSync('sh', ['-c', 'sha256sum -c *.sha256 && md5sum -c *.md5'], { cwd: project.bundle, encoding: 'utf8' });
    expect(check).toContain('hello: OK');
    expect(readdirSync(project.bundle).sort()).toEqual(['hello', 'hello.md5', 'hello.sha256', 'manifest.json', 'manifest.json.md5', 'manifest.json.sha256']);
  });

  it('records source, toolchain, commands and digests in the manifest', () => {
    const manifest = readManifest(project.bundle);
    expect(manifest.components.hello?.source).toMatchObject({ kind: 'path', identity: `git ${project.commit}`, commit: project.commit, dirty: false });
    expect(manifest.components.hello?.toolchain.go).toMatch(/^go1\./);
    expect(manifest.components.hello?.commands[0]).toMatch(/go build -trimpath/);
    expect(manifest.files.hello).toMatchObject({ component: 'hello', sha256: sha256Of(join(project.bundle, 'hello')) });
  });

  it('does not call go build again when nothing changed', async () => {
    const before = project.goBuilds().length;
    // The build remembered the digest of what it published, by the identity of its bytes: the no-op reads none of them.
    const remembered = JSON.parse(readFileSync(join(project.paths.bundles, '.digests.json'), 'utf8')) as Record<
      string,
      { ino: string; ctimeNs: string; sha256: string }
    >;
    const binary = join(project.bundle, 'hello');
    expect(remembered[binary]).toMatchObject({
      ino: String(statSync(binary).ino),
      ctimeNs: String(statSync(binary, { bigint: true }).ctimeNs),
      sha256: sha256Of(binary),
    });
    const rerun = await project.make();
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/hello: up to date/);
    expect(rerun.stdout).toMatch(/everything is up to date/);
    expect(project.goBuilds().length).toBe(before);
    // The log still holds the compiler command of the build that made the binary.
    expect(readFileSync(join(project.paths.bundles, 'logs', 'hello.log'), 'utf8')).toMatch(/go build -trimpath/);
    expect(existsSync(join(project.paths.bundles, 'logs', 'hello.log.partial'))).toBe(false);
  });

  it('rebuilds when the bundle was tampered with', async () => {
    const binary = join(project.bundle, 'hello');
    const good = sha256Of(binary);
    writeFileSync(binary, 'tampered');
    const rerun = await project.make();
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/hello: built/);
    expect(sha256Of(binary)).toBe(good);
  });

  it('marks an uncommitted change -unsupported and rebuilds for it', async () => {
    writeFileSync(join(project.paths.src, 'extra.go'), 'package main\n\nvar _ = 1\n');
    const rerun = await project.make();
    expect(rerun.code).toBe(0);
    expect(execFileSync(join(project.bundle, 'hello'), { encoding: 'utf8' })).toContain(`commit=${project.commit}-unsupported`);
    expect(readManifest(project.bundle).components.hello?.source.dirty).toBe(true);
  });
});

describe('a failing build', () => {
  it('exits non-zero with the log tail and leaves the previous bundle intact', async () => {
    const project = fixture();
    expect((await project.make()).code).toBe(0);
    const good = sha256Of(join(project.bundle, 'hello'));
    const goodManifest = readFileSync(join(project.bundle, 'manifest.json'), 'utf8');

    writeFileSync(join(project.paths.src, 'main.go'), 'package main\n\nfunc main() { this is not go }\n');
    const failed = await project.make();
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/--- hello failed: `go build` exited with 1/);
    expect(failed.stderr).toMatch(/main\.go:3:\d+: syntax error/); // the compiler's own words, from the log tail
    expect(failed.stderr).toMatch(/previous bundle for it is unchanged/);

    expect(sha256Of(join(project.bundle, 'hello'))).toBe(good);
    expect(readFileSync(join(project.bundle, 'manifest.json'), 'utf8')).toBe(goodManifest);
    execFileSync('sha256sum', ['-c', 'hello.sha256'], { cwd: project.bundle });
    expect(readdirSync(join(project.paths.bundles, '.staging')).length).toBe(0);
  });

  it('still publishes the components that did build', async () => {
    const project = fixture();
    const broken = join(tempDir('broken'), 'src');
    writeGoModule(broken);
    writeFileSync(join(broken, 'main.go'), 'package main\n\nfunc main() { nope }\n');
    writeHelloComponent(project.paths.components, broken, { name: 'broken', output: 'broken' });
    const result = await project.make();
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/hello: built/);
    expect(result.stdout).toMatch(/broken: FAILED/);
    expect(existsSync(join(project.bundle, 'hello'))).toBe(true);
    expect(existsSync(join(project.bundle, 'broken'))).toBe(false);
  });
});

describe('a partial build', () => {
  it('keeps the other components, and drops one whose files were deleted by hand until it is built again', async () => {
    const project = await builtWithTwoComponents();
    rmSync(join(project.bundle, 'other'));
    rmSync(join(project.bundle, 'hello.sha256'));
    writeFileSync(join(project.paths.src, 'main.go'), readFileSync(join(project.paths.src, 'main.go'), 'utf8').replace('hello', 'hi'));

    const onlyHello = await project.make(['--only', 'hello']);
    expect(onlyHello.code).toBe(0);
    expect(execFileSync(join(project.bundle, 'hello'), { encoding: 'utf8' })).toMatch(/^hi /);
    expect(readManifest(project.bundle).components.other).toBeUndefined();
    expect(existsSync(join(project.bundle, 'other.sha256'))).toBe(false);

    expect((await project.make()).code).toBe(0);
    expect(execFileSync(join(project.bundle, 'other'), { encoding: 'utf8' })).toMatch(/^other /);
    execFileSync('sh', ['-c', 'sha256sum -c *.sha256 && md5sum -c *.md5'], { cwd: project.bundle });
  });

  it('carries the proof of a kept component it did not check through the links of --only, while its bytes are unchanged', async () => {
    const project = await builtWithTwoComponents();
    writeFileSync(join(project.paths.src, 'main.go'), readFileSync(join(project.paths.src, 'main.go'), 'utf8').replace('hello', 'hey'));
    expect((await project.make(['--only', 'hello'])).code).toBe(0);
    // Linked into the new generation (a new ctime), and remembered as it is now: the next check reads none of its bytes.
    const other = join(project.bundle, 'other');
    const remembered = JSON.parse(readFileSync(join(project.paths.bundles, '.digests.json'), 'utf8')) as Record<string, { ctimeNs: string; sha256: string }>;
    expect(remembered[other]).toMatchObject({ ctimeNs: String(statSync(other, { bigint: true }).ctimeNs), sha256: sha256Of(other) });
  });

  it('still finds a kept component tampered with before a build that did not check it', async () => {
    const project = await builtWithTwoComponents();
    const other = join(project.bundle, 'other');
    const good = sha256Of(other);
    // The same size: only the digest tells.
    const bytes = readFileSync(other);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    writeFileSync(other, bytes);
    writeFileSync(join(project.paths.src, 'main.go'), readFileSync(join(project.paths.src, 'main.go'), 'utf8').replace('hello', 'hey'));
    // hello is built and published; other is linked into the new generation unchecked, so its digest is not remembered from the manifest.
    expect((await project.make(['--only', 'hello'])).code).toBe(0);
    const all = await project.make();
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/other: built/);
    expect(sha256Of(other)).toBe(good);
  });

  it('repairs a lost sidecar of a component it keeps', async () => {
    const project = await builtWithTwoComponents();
    const sidecar = readFileSync(join(project.bundle, 'other.sha256'), 'utf8');
    rmSync(join(project.bundle, 'other.sha256'));
    writeFileSync(join(project.paths.src, 'extra.go'), 'package main\n');
    expect((await project.make(['--only', 'hello'])).code).toBe(0);
    expect(readFileSync(join(project.bundle, 'other.sha256'), 'utf8')).toBe(sidecar);
  });
});

describe('an interrupted build', () => {
  it('exits 130 and changes nothing a reader of the bundle can see', async () => {
    const project = fixture();
    expect((await project.make()).code).toBe(0);
    const good = sha256Of(join(project.bundle, 'hello'));
    writeFileSync(join(project.paths.src, 'main.go'), readFileSync(join(project.paths.src, 'main.go'), 'utf8').replace('hello', 'changed'));
    // A go that hangs in `build` so the interrupt lands mid-compile.
    const started = join(project.paths.bin, 'build-started');
    writeFileSync(join(project.paths.bin, 'go'), `#!/bin/sh\nif [ "$1" = build ]; then touch ${started}; sleep 59.123; fi\nexec ${realGo} "$@"\n`);
    let pid = 0;
    const interrupted = runTask(
      'make',
      ['--components', project.paths.components, '--bundles', project.paths.bundles],
      { PATH: `${project.paths.bin}:${process.env.PATH}` },
      (p) => (pid = p),
    );
    await waitFor(() => existsSync(started));
    process.kill(pid, 'SIGINT');
    const result = await interrupted;
    expect(result.code).toBe(130);
    expect(sha256Of(join(project.bundle, 'hello'))).toBe(good);
    expect(existsSync(join(project.paths.bundles, '.lock'))).toBe(false);
    expect(readdirSync(join(project.paths.bundles, '.staging'))).toEqual([]);
    // The compiler (here its stand-in) was stopped too, not left running.
    await waitFor(() => spawnSync('pgrep', ['-f', 'sleep 59.123']).status === 1);
  });
});

describe('reproducibility', () => {
  it('gives the same sha256 for the same source and toolchain, built twice from scratch', async () => {
    const project = fixture();
    expect((await project.make()).code).toBe(0);
    const first = sha256Of(join(project.bundle, 'hello'));
    const second = join(tempDir('bundles2'));
    const again = await runTask('make', ['--components', project.paths.components, '--bundles', second], { GOCACHE: tempDir('gocache') });
    expect(again.code).toBe(0);
    expect(sha256Of(join(second, 'binary-daemon', 'hello'))).toBe(first);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !condition(); i += 1) await new Promise((r) => setTimeout(r, 50));
  if (!condition()) throw new Error('condition never became true');
}
