import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTask } from './cli.js';
import { realGo } from './fixture-project.js';
import { writeHelloComponent, writeRecordingGo } from './fixtures.js';
import { tempDir } from './temp.js';

/**
 * A machine for the shared-cache tests: bundles, GOCACHE, GOMODCACHE and
 * tools cache of its own under `root` (empty unless another machine used
 * that root), building `components`; a go that records each call, so a
 * test can say whether anything compiled.
 */
export function cacheMachine(components: string, root = tempDir('machine')) {
  const paths = { bundles: join(root, 'bundles'), bin: join(root, 'bin'), goCalls: join(root, 'go-calls.log') };
  writeRecordingGo(paths.bin, paths.goCalls, realGo);
  const state = { GOCACHE: join(root, 'gocache'), GOMODCACHE: join(root, 'gomodcache'), MOBY_MAKE_CACHE: join(root, 'cache') };
  const make = (env: Record<string, string> = {}, args: string[] = []) =>
    runTask('make', ['--components', components, '--bundles', paths.bundles, ...args], { PATH: `${paths.bin}:${process.env.PATH}`, ...state, ...env });
  const goBuilds = () => {
    try {
      return readFileSync(paths.goCalls, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('build'));
    } catch {
      return [];
    }
  };
  return { paths, make, goBuilds, bundle: join(paths.bundles, 'binary-daemon') };
}

/** A clone of the fixture's tree printing `message` instead of hello (a fingerprint the registry has no outputs for), and a components folder building it. */
export function editedHelloTree(src: string, message: string): string {
  const clone = tempDir(`${message}-src`);
  execFileSync('git', ['clone', '-q', src, clone]);
  writeFileSync(join(clone, 'main.go'), readFileSync(join(clone, 'main.go'), 'utf8').replace('"hello', `"${message}`));
  const components = tempDir(`${message}-components`);
  writeHelloComponent(components, clone);
  return components;
}
