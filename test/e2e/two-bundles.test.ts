import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifest } from '../../core/manifest.js';
import { writeGoModule, writeHelloComponent } from '../support/fixtures.js';
import { fixture } from '../support/fixture-project.js';
import { tempDir } from '../support/temp.js';

function editMessage(src: string, from: string, to: string): void {
  writeFileSync(join(src, 'main.go'), readFileSync(join(src, 'main.go'), 'utf8').replace(from, to));
}

describe('components in two bundles (binary-daemon and binary-client)', () => {
  it('publishes each bundle on its own: --only one never touches, or prunes, the other', async () => {
    const project = fixture();
    const clientSrc = join(tempDir('client'), 'src');
    writeGoModule(clientSrc, 'client');
    writeHelloComponent(project.paths.components, clientSrc, { name: 'client', output: 'docker', bundle: 'binary-client' });
    const clientBundle = join(project.paths.bundles, 'binary-client');
    const generation = (bundle: string) => readlinkSync(bundle);
    const generations = () => readdirSync(join(project.paths.bundles, '.generations')).sort();

    const first = await project.make();
    expect(first.code).toBe(0);
    expect(readManifest(project.bundle).components).toHaveProperty('hello');
    expect(readManifest(project.bundle).components).not.toHaveProperty('client');
    expect(Object.keys(readManifest(clientBundle).components)).toEqual(['client']);
    for (const bundle of [project.bundle, clientBundle]) execFileSync('sh', ['-c', 'sha256sum -c *.sha256 && md5sum -c *.md5'], { cwd: bundle });
    expect(generations()).toHaveLength(2);

    // A no-op rerun finds both bundles up to date and compiles nothing.
    const builds = project.goBuilds().length;
    const again = await project.make();
    expect(again.stdout).toMatch(/everything is up to date/);
    expect(project.goBuilds()).toHaveLength(builds);

    const daemonGeneration = generation(project.bundle);
    editMessage(clientSrc, 'client', 'client2');
    expect((await project.make(['--only', 'client'])).code).toBe(0);
    expect(execFileSync(join(clientBundle, 'docker'), { encoding: 'utf8' })).toMatch(/^client2 /);
    expect(generation(project.bundle)).toBe(daemonGeneration);
    expect(generations()).toEqual([generation(project.bundle), generation(clientBundle)].map((target) => target.split('/')[1]).sort());

    const clientGeneration = generation(clientBundle);
    editMessage(project.paths.src, 'hello', 'hi');
    expect((await project.make(['--only', 'hello'])).code).toBe(0);
    expect(execFileSync(join(project.bundle, 'hello'), { encoding: 'utf8' })).toMatch(/^hi /);
    expect(generation(clientBundle)).toBe(clientGeneration);
    expect(execFileSync(join(clientBundle, 'docker'), { encoding: 'utf8' })).toMatch(/^client2 /);
    expect(generations()).toHaveLength(2);
  });
});
