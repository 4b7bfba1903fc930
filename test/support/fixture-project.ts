import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runTask } from './cli.js';
import { gitInit, writeGoModule, writeHelloComponent, writeRecordingGo } from './fixtures.js';
import { tempDir } from './temp.js';

export const realGo = execFileSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' }).trim();

/** A fixture project: a Go module in git, its component file, a bundles root and a go that records calls. */
export function fixture() {
  const work = tempDir('e2e');
  const paths = {
    src: join(work, 'src'),
    components: join(work, 'components'),
    bundles: join(work, 'bundles'),
    bin: join(work, 'bin'),
    goCalls: join(work, 'go-calls.log'),
  };
  writeGoModule(paths.src);
  const commit = gitInit(paths.src);
  writeHelloComponent(paths.components, paths.src);
  writeRecordingGo(paths.bin, paths.goCalls, realGo);
  const make = (args: string[] = [], env: Record<string, string> = {}) =>
    runTask('make', ['--components', paths.components, '--bundles', paths.bundles, ...args], { PATH: `${paths.bin}:${process.env.PATH}`, ...env });
  const bundle = join(paths.bundles, 'binary-daemon');
  const goBuilds = () =>
    existsSync(paths.goCalls)
      ? readFileSync(paths.goCalls, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('build'))
      : [];
  return { paths, commit, make, bundle, goBuilds };
}

/** The fixture plus a second component, `other`, both built. */
export async function builtWithTwoComponents() {
  const project = fixture();
  const otherSrc = join(tempDir('other'), 'src');
  writeGoModule(otherSrc, 'other');
  writeHelloComponent(project.paths.components, otherSrc, { name: 'other', output: 'other' });
  expect((await project.make()).code).toBe(0);
  return project;
}
