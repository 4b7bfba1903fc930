import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTask } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { writeFakeGo, writeGoModule, writeHelloComponent } from '../support/fixtures.js';

describe('npm run make arguments', () => {
  it('prints help and exits 0', async () => {
    const result = await runTask('make', ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/--only a,b/);
  });

  it('rejects an unknown component, listing the valid names, and builds nothing', async () => {
    const bundles = tempDir('bundles');
    const result = await runTask('make', ['--only', 'runc,dockr', '--bundles', bundles]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/unknown component: dockr/);
    expect(result.stderr).toMatch(/Valid names: .*containerd.*daemon.*runc/);
    expect(result.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    expect(existsSync(join(bundles, 'binary-daemon'))).toBe(false);
  });

  it('rejects an unknown option and a bad --jobs', async () => {
    const unknown = await runTask('make', ['--fast']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--fast'/);
    const jobs = await runTask('make', ['--jobs', '0']);
    expect(jobs.code).toBe(1);
    expect(jobs.stderr).toMatch(/--jobs 0 is not a positive whole number/);
  });

  it('refuses --in-container for a bundles folder the dev container cannot see', async () => {
    const result = await runTask('make', ['--in-container', '--bundles', tempDir('bundles')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--in-container needs the bundles folder inside the checkout/);
    expect(result.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('rejects a forced source kind that does not exist', async () => {
    const result = await runTask('make', ['--only', 'runc', '--bundles', tempDir('bundles')], { RUNC_SOURCE: 'tarball' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/RUNC_SOURCE=tarball is not a source kind/);
    expect(result.stderr).toMatch(/Valid kinds: module, path, git, debian-source/);
  });
});

describe('build prerequisites', () => {
  it('fail with the exact apt-get command when installing is turned off', async () => {
    const work = tempDir('prereq');
    writeGoModule(join(work, 'src'));
    writeHelloComponent(join(work, 'components'), join(work, 'src'));
    const component = join(work, 'components', 'hello.ts');
    writeFileSync(
      component,
      readFileSync(component, 'utf8').replace(
        "needs: [{ kind: 'go' }]",
        "needs: [{ kind: 'go' }, { kind: 'command', command: 'moby-make-no-such-tool', aptPackage: 'moby-make-no-such-package', why: 'testing' }]",
      ),
    );
    const result = await runTask('make', ['--no-install', '--components', join(work, 'components'), '--bundles', join(work, 'bundles')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/missing prerequisites: moby-make-no-such-package \(testing\)/);
    expect(result.stderr).toMatch(/Run as root: apt-get install -y --no-install-recommends moby-make-no-such-package/);
  });
});

describe('Go toolchain check', () => {
  it('names the component, the version its go.mod needs and the one found', async () => {
    const work = tempDir('oldgo');
    writeGoModule(join(work, 'src'));
    writeHelloComponent(join(work, 'components'), join(work, 'src'));
    writeFakeGo(join(work, 'bin'), 'go1.20.4');
    const result = await runTask('make', ['--components', join(work, 'components'), '--bundles', join(work, 'bundles')], {
      PATH: `${join(work, 'bin')}:${process.env.PATH}`,
    });
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/hello: needs Go 1\.21 \(its go\.mod\), found go1\.20\.4/);
    expect(result.stderr).not.toMatch(/fake go: build/); // never got as far as compiling
  });

  it('says how to get Go when there is none', async () => {
    const work = tempDir('nogo');
    writeGoModule(join(work, 'src'));
    writeHelloComponent(join(work, 'components'), join(work, 'src'));
    const result = await runTask('make', ['--components', join(work, 'components'), '--bundles', join(work, 'bundles')], {
      PATH: '/usr/bin:/bin',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Go is required but `go env GOVERSION` was not found on PATH/);
  });
});
