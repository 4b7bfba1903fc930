import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE, readManifest } from '../../core/manifest.js';
import { runTask } from '../support/cli.js';
import { writeFixtureComponent } from '../support/fixtures.js';
import { fixture } from '../support/fixture-project.js';
import { tempDir } from '../support/temp.js';

/** Every file of the bundle folder with its size and mtime: what "never writes into the bundle" must leave alone. */
function snapshot(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const stats = statSync(join(dir, name));
      return `${name} ${stats.size} ${stats.mtimeMs}`;
    });
}

describe('npm run verify-bundle on fixture components', () => {
  const project = fixture();
  // A second component from the same checkout: no linker flags (an empty -ldflags argument) and a copied file.
  writeFixtureComponent(project.paths.components, {
    name: 'plain',
    sources: [{ kind: 'path', dir: project.paths.src }],
    unstamped: true,
    copies: [{ from: 'main', path: 'go.mod', output: 'plain.go.mod', mode: 0o644 }],
  });
  const verify = (args: string[]) => runTask('verify-bundle', args, { TMPDIR: tempDir('verify-tmp') });
  const copyOfManifest = (edit: (text: string) => string) => {
    const file = join(tempDir('manifest'), MANIFEST_FILE);
    writeFileSync(file, edit(readFileSync(join(project.bundle, MANIFEST_FILE), 'utf8')));
    return file;
  };

  beforeAll(async () => {
    const built = await project.make();
    expect(built.stderr).toBe('');
    expect(built.code).toBe(0);
  });

  it('records exact shell: the working folder, quoted arguments, an empty -ldflags kept', () => {
    const manifest = readManifest(project.bundle);
    expect(manifest.components.plain?.commands).toEqual([
      "cd @SRC@ && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath -ldflags '' -o @OUT@/plain .",
      'install -D -m 644 @SRC@/go.mod @OUT@/plain.go.mod',
    ]);
    expect(manifest.components.hello?.commands[0]).toMatch(
      /^cd @SRC@ && .* go build -trimpath -ldflags '-w -X main\.version=\S+ -X main\.commit=[0-9a-f]{40} -X /,
    );
    expect(manifest.components.hello?.source).toMatchObject({ kind: 'path', origin: { dir: project.paths.src } });
  });

  it('rebuilds every file from the manifest alone and reproduces each sha256, writing nothing into the bundle', async () => {
    const before = snapshot(project.bundle);
    const result = await verify(['--manifest', join(project.bundle, MANIFEST_FILE)]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const manifest = readManifest(project.bundle);
    for (const file of ['hello', 'plain', 'plain.go.mod']) {
      expect(result.stdout).toMatch(new RegExp(`^${file.replace('.', '\\.')}: reproduced ${manifest.files[file]?.sha256}$`, 'm'));
    }
    expect(result.stdout).toMatch(/^3 of 3 files reproduced in /m);
    expect(snapshot(project.bundle)).toEqual(before);
  });

  it('gives DIFFERS with both digests and exit 1 when a recorded command was edited (one flag changed)', async () => {
    const edited = copyOfManifest((text) => text.replace("-ldflags '-w -X", "-ldflags '-s -X"));
    const result = await verify(['--manifest', edited, '--only', 'hello']);
    expect(result.code).toBe(1);
    const recorded = readManifest(project.bundle).files.hello?.sha256 ?? '';
    expect(result.stderr).toMatch(new RegExp(`^hello: DIFFERS: manifest ${recorded}, rebuilt (?!${recorded})[0-9a-f]{64}$`, 'm'));
    expect(result.stderr).toMatch(/^DIFFERS: hello$/m);
  });

  it('refuses another toolchain, naming both versions, before replaying anything', async () => {
    const here = readManifest(project.bundle).components.hello?.toolchain.go ?? '';
    const other = copyOfManifest((text) => text.replaceAll(`"go": "${here}"`, '"go": "go1.20.1"'));
    const result = await verify(['--manifest', other]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`go: the bundle was built with 'go1\\.20\\.1' \\(hello, plain\\), this machine has '${here.replace(/\./g, '\\.')}'`),
    );
    expect(result.stdout).not.toMatch(/replaying/);
  });

  it('says so when a path source is no longer at the recorded identity', async () => {
    const moved = tempDir('moved');
    execFileSync('cp', ['-r', project.paths.src, moved]);
    const src = join(moved, 'src');
    writeFileSync(join(src, 'main.go'), readFileSync(join(src, 'main.go'), 'utf8').replace('hello', 'changed'));
    const manifest = copyOfManifest((text) => text.replaceAll(JSON.stringify(project.paths.src), JSON.stringify(src)));
    const result = await verify(['--manifest', manifest, '--only', 'hello']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `hello: FAILED: hello: the checkout ${src} is now git ${project.commit} dirty [0-9a-f]{64}, but the bundle was built from git ${project.commit}`,
      ),
    );
  });

  it('names the recorded components when --only asks for another', async () => {
    const result = await verify(['--manifest', project.bundle, '--only', 'nope']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the manifest records no component nope\nRecorded: hello, plain\./);
  });
});
