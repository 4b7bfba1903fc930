import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../core/manifest.js';
import { runTask, type CliResult } from '../support/cli.js';
import { tempDir } from '../support/temp.js';

const VERSION_LINE = 'tini version 0.19.0 - git.de40ad0';
const sha256Of = (file: string) => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];

/** The real component through `npm run make -- --only init`, into a bundles folder of its own. */
async function buildInit(bundles: string, cache: string, env: Record<string, string> = {}): Promise<CliResult> {
  const result = await runTask('make', ['--only', 'init', '--bundles', bundles], { MOBY_MAKE_CACHE: cache, ...env });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result;
}

describe('docker-init built from tini v0.19.0', () => {
  const work = tempDir('init');
  const cache = join(work, 'cache');
  const bundle = join(work, 'default', 'binary-daemon');

  beforeAll(async () => {
    await buildInit(join(work, 'default'), cache);
  });

  it('is a static executable', () => {
    const ldd = spawnSync('ldd', [join(bundle, 'docker-init')], { encoding: 'utf8' });
    expect(`${ldd.stdout}${ldd.stderr}`).toMatch(/not a dynamic executable/);
  });

  it('prints exactly the version line dockerd parses for InitCommit', () => {
    expect(execFileSync(join(bundle, 'docker-init'), ['--version'], { encoding: 'utf8' })).toBe(`${VERSION_LINE}\n`);
  });

  it('has sidecars that coreutils verifies and a manifest entry naming the source used', () => {
    const check = execFileSync('sh', ['-c', 'sha256sum -c docker-init.sha256 && md5sum -c docker-init.md5'], { cwd: bundle, encoding: 'utf8' });
    expect(check).toBe('docker-init: OK\ndocker-init: OK\n');
    const manifest = readManifest(bundle);
    const source = manifest.components.init?.source;
    expect(source?.commit).toBe('de40ad007797e0dcd8b7126f27bb87401d224240');
    expect(['git', 'debian-source']).toContain(source?.kind);
    expect(manifest.files['docker-init']?.sha256).toBe(sha256Of(join(bundle, 'docker-init')));
    const log = readFileSync(join(work, 'default', 'logs', 'init.log'), 'utf8');
    expect(log).toMatch(/==> init: trying git https:\/\/github\.com\/krallin\/tini\.git v0\.19\.0/);
    // Whichever source won, the ones before it were tried and their failure logged.
    if (source?.kind === 'debian-source') expect(log).toMatch(/==> init: git .* failed: /);
  });

  it('builds from Debian’s tarball when forced, reproducibly, with the same version line', async () => {
    const first = join(work, 'debian-1');
    const second = join(work, 'debian-second-with-a-longer-path');
    await buildInit(first, cache, { INIT_SOURCE: 'debian-source' });
    await buildInit(second, cache, { INIT_SOURCE: 'debian-source' });
    for (const root of [first, second]) {
      const manifest = readManifest(join(root, 'binary-daemon'));
      expect(manifest.components.init?.source).toMatchObject({
        kind: 'debian-source',
        identity: 'sha256:0fd35a7030052acd9f58948d1d900fe1e432ee37103c5561554408bdac6bbf0d',
        version: 'v0.19.0',
      });
      expect(readFileSync(join(root, 'logs', 'init.log'), 'utf8')).not.toMatch(/trying git/);
      expect(execFileSync(join(root, 'binary-daemon', 'docker-init'), ['--version'], { encoding: 'utf8' })).toBe(`${VERSION_LINE}\n`);
    }
    expect(sha256Of(join(second, 'binary-daemon', 'docker-init'))).toBe(sha256Of(join(first, 'binary-daemon', 'docker-init')));
  });
});

describe('a cmake component', () => {
  /** A tiny C project whose component edits a string in it before building. */
  function project(find: string) {
    const work = tempDir('cmake');
    const src = join(work, 'src');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'CMakeLists.txt'), 'cmake_minimum_required(VERSION 3.10)\nproject(greet C)\nadd_executable(greet greet.c)\n');
    writeFileSync(join(src, 'greet.c'), '#include <stdio.h>\nint main(void) { puts("GREETING"); return 0; }\n');
    const components = join(work, 'components');
    mkdirSync(components);
    writeFileSync(
      join(components, 'greet.ts'),
      `export default () => ({
  name: 'greet',
  description: 'fixture',
  sources: [{ kind: 'path', dir: ${JSON.stringify(src)} }],
  needs: [
    { kind: 'command', command: 'cmake', aptPackage: 'cmake', why: 'fixture' },
    { kind: 'command', command: 'make', aptPackage: 'make', why: 'fixture' },
    { kind: 'command', command: 'gcc', aptPackage: 'gcc', why: 'fixture' },
  ],
  recipe: {
    kind: 'cmake',
    configureArgs: () => [],
    target: 'greet',
    outputs: { greet: 'greet-bin' },
    edits: () => [{ file: 'greet.c', find: ${JSON.stringify(find)}, replace: 'hello from an edited copy' }],
  },
});
`,
    );
    const make = () =>
      runTask('make', ['--components', components, '--bundles', join(work, 'bundles'), '--jobs', '1'], { MOBY_MAKE_CACHE: join(work, 'cache') });
    return { work, src, make, bundle: join(work, 'bundles', 'binary-daemon') };
  }

  it('edits a copy of the tree, configures, makes the target and installs the output', async () => {
    const fixture = project('GREETING');
    const result = await fixture.make();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(execFileSync(join(fixture.bundle, 'greet-bin'), { encoding: 'utf8' })).toBe('hello from an edited copy\n');
    expect(readFileSync(join(fixture.src, 'greet.c'), 'utf8')).toContain('GREETING'); // the source itself is untouched
  });

  it('fails the build when an edit no longer applies', async () => {
    const fixture = project('NOT IN THE FILE');
    const result = await fixture.make();
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/greet\.c does not contain "NOT IN THE FILE"/);
  });
});
