import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST_FILE, MANIFEST_SCHEMA, REPLAY_NOTE, readManifest } from '../../core/manifest.js';
import { builtWithTwoComponents, fixture, realGo } from '../support/fixture-project.js';

/** Replaces the fixture's `go` with one that does `onBuild` for `go build` and is the real go otherwise. */
function goThatFailsBuilds(binDir: string, onBuild: string): void {
  const script = join(binDir, 'go');
  writeFileSync(script, `#!/bin/sh\nif [ "$1" = build ]; then ${onBuild}; fi\nexec ${realGo} "$@"\n`);
  chmodSync(script, 0o755);
}

describe('make names why a build failed', () => {
  it('reports a compiler killed by a signal as that signal, with its usual cause', async () => {
    const project = fixture();
    goThatFailsBuilds(project.paths.bin, 'kill -KILL $$');
    const result = await project.make();
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^hello: FAILED: `go build` was killed by SIGKILL — killed by SIGKILL, most often the out-of-memory killer/m);
    expect(result.stdout).not.toMatch(/exited with/);
  });

  it('names a full disk in the one-line error, not only in the log', async () => {
    const project = fixture();
    goThatFailsBuilds(project.paths.bin, 'echo "go: writing stat cache: write /root/.cache/go-build/x: no space left on device" >&2; exit 1');
    const result = await project.make();
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^hello: FAILED: `go build` exited with 1 — the disk is full \(no space left on device\)/m);
  });

  it('tells a bug in moby-make apart from a failed build, with its stack only under --verbose', async () => {
    const project = fixture();
    const component = join(project.paths.components, 'hello.ts');
    writeFileSync(
      component,
      readFileSync(component, 'utf8').replace(/stamp: \(source, \{ buildTime \}\) => \(\{/, 'stamp: () => ({ broken: undefined.property,'),
    );
    const quiet = await project.make();
    expect(quiet.code).toBe(1);
    expect(quiet.stdout).toMatch(/^hello: FAILED: INTERNAL ERROR \(a bug in moby-make\): Cannot read properties of undefined/m);
    expect(quiet.stderr).toMatch(/this is a bug in moby-make; run with --verbose for its stack/);
    expect(quiet.stderr).not.toMatch(/^\s+at /m);
    const verbose = await project.make(['--verbose']);
    expect(verbose.stderr).toMatch(/TypeError: Cannot read properties of undefined[^\n]*\n\s+at /);
  });
});

describe('an unreadable manifest', () => {
  it('is "nothing built yet" for make: every component is rebuilt and the bundle stays whole', async () => {
    const project = await builtWithTwoComponents();
    writeFileSync(join(project.bundle, MANIFEST_FILE), `${JSON.stringify({ schema: MANIFEST_SCHEMA, replay: REPLAY_NOTE, components: 'edited by hand' })}\n`);
    const result = await project.make(['--only', 'hello']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/manifest\.json cannot be read \(components: .*\); rebuilding every component/);
    expect(result.stdout).toMatch(/^building: hello, other$/m);
    expect(Object.keys(readManifest(project.bundle).components).sort()).toEqual(['hello', 'other']);
    expect(existsSync(join(project.bundle, 'other'))).toBe(true);
    execFileSync('sh', ['-c', 'sha256sum -c *.sha256 && md5sum -c *.md5'], { cwd: project.bundle });
  });

  it('of an older schema is rebuilt too (or republished from the kept build of the same fingerprint), with the reason', async () => {
    const project = fixture();
    expect((await project.make()).code).toBe(0);
    const file = join(project.bundle, MANIFEST_FILE);
    writeFileSync(file, readFileSync(file, 'utf8').replace(`"schema": ${MANIFEST_SCHEMA}`, '"schema": 1'));
    const result = await project.make();
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/written by an older moby-make \(schema 1, .*\); rebuilding every component/);
    // The outputs of this exact fingerprint are kept in bundles/.builds, so nothing needs compiling.
    expect(result.stdout).toMatch(/^hello: (built|an earlier build of this exact source, kept in bundles\/\.builds: republished without compiling)/m);
    expect(readManifest(project.bundle).schema).toBe(MANIFEST_SCHEMA);
    execFileSync('sh', ['-c', 'sha256sum -c *.sha256 && md5sum -c *.md5'], { cwd: project.bundle });
  });
});
