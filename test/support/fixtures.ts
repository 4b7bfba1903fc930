import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CopiedFile, SourceSpec } from '../../builder/model.js';

/** A tiny Go module whose binary prints the values stamped into it. */
export function writeGoModule(dir: string, message = 'hello'): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'go.mod'), 'module example.com/hello\n\ngo 1.21\n');
  writeFileSync(
    join(dir, 'main.go'),
    `package main

import "fmt"

var (
\tversion = "unset"
\tcommit  = "unset"
\tbuilt   = "unset"
)

func main() {
\tfmt.Printf("${message} version=%s commit=%s built=%s\\n", version, commit, built)
}
`,
  );
}

export function gitInit(dir: string): string {
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
  git('init', '-q');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'add', '-A');
  git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'fixture');
  return git('rev-parse', 'HEAD');
}

/**
 * A component file for the fixture module with the given candidate sources.
 * It imports nothing, so it can live in any temporary folder; its shape is
 * checked by the engine like any other.
 */
export function writeFixtureComponent(
  componentsDir: string,
  options: { name: string; output?: string; sources: SourceSpec[]; unstamped?: boolean; copies?: CopiedFile[]; bundle?: string },
): void {
  mkdirSync(componentsDir, { recursive: true });
  // Unstamped: no linker flags at all, so the recorded command carries an empty -ldflags argument (as rootlesskit's does).
  const linking = options.unstamped
    ? `ldflags: [],
    stamp: () => ({}),`
    : `ldflags: ['-w'],
    stamp: (source, { buildTime }) => ({
      'main.version': source.version,
      'main.commit': (source.commit ?? 'none') + (source.dirty ? '-unsupported' : ''),
      'main.built': buildTime,
    }),`;
  writeFileSync(
    join(componentsDir, `${options.name}.ts`),
    `export default () => ({
  name: ${JSON.stringify(options.name)},
  description: 'fixture',${options.bundle ? `\n  bundle: ${JSON.stringify(options.bundle)},` : ''}
  sources: ${JSON.stringify(options.sources)},
  needs: [{ kind: 'go' }],
  recipe: {
    kind: 'go',
    binaries: [{ package: '.', output: ${JSON.stringify(options.output ?? options.name)} }],
    cgo: false,
    tags: [],
    ${linking}
  },
  copies: ${JSON.stringify(options.copies ?? [])},
});
`,
  );
}

/** The fixture component building a local checkout (a path source). */
export function writeHelloComponent(componentsDir: string, sourceDir: string, options: { name?: string; output?: string; bundle?: string } = {}): void {
  writeFixtureComponent(componentsDir, {
    name: options.name ?? 'hello',
    output: options.output ?? 'hello',
    sources: [{ kind: 'path', dir: sourceDir }],
    ...(options.bundle ? { bundle: options.bundle } : {}),
  });
}

/** A `go` first on PATH that records each invocation, then runs the real one. */
export function writeRecordingGo(binDir: string, record: string, realGo: string): void {
  mkdirSync(binDir, { recursive: true });
  const script = join(binDir, 'go');
  writeFileSync(script, `#!/bin/sh\necho "$*" >> ${JSON.stringify(record)}\nexec ${JSON.stringify(realGo)} "$@"\n`);
  chmodSync(script, 0o755);
}

/** A `go` first on PATH that claims to be an old release. */
export function writeFakeGo(binDir: string, version: string): void {
  mkdirSync(binDir, { recursive: true });
  const script = join(binDir, 'go');
  writeFileSync(script, `#!/bin/sh\nif [ "$1 $2" = "env GOVERSION" ]; then echo ${version}; exit 0; fi\necho "fake go: $*" >&2\nexit 3\n`);
  chmodSync(script, 0o755);
}
