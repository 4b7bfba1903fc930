import { wallSeconds } from './wall-seconds.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_BUNDLE, DAEMON_BUNDLE, bundlePaths } from '../../core/bundle-layout.js';
import { readManifest, type SourceRecord } from '../../core/manifest.js';
import { OUT, SRC, WORK, extraSourcePlaceholder } from '../../core/placeholders.js';
import { median } from '../../core/stats.js';
import { expandPlaceholders } from '../../builder/rebuild/placeholders.js';
import { projectRoot, taskArgv } from '../paths.js';

/** The Go components of a cross build (docker-init is C through cmake). */
const GO_COMPONENTS = ['cli', 'containerd', 'daemon', 'proxy', 'rootlesskit', 'runc', 'shim'];
const PLATFORM = 'linux/arm64';

/** Where `go` keeps a module's verified tree: what @SRC@ (or @SRC:name@) is for a module source. */
function moduleDir(source: SourceRecord): string {
  if (source.kind !== 'module') throw new Error(`the bench replays module sources only; ${source.identity} is ${source.kind}`);
  const info = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `${source.origin.module}@${source.origin.version}`], { encoding: 'utf8' })) as {
    Dir: string;
  };
  return info.Dir;
}

/**
 * A cold cross build of the Go components for linux/arm64 through make
 * (--jobs 1), against the same `go build` commands run by hand, copied from
 * the manifest it wrote, one after another: both with an empty Go build
 * cache of their own, modules already downloaded; rounds alternate which
 * goes first.
 */
export function benchCrossCold(rounds: number): number {
  if (rounds < 1) {
    console.log('\ncold cross build left out (--cross-runs 0)');
    return 0;
  }
  const scratch = join(projectRoot, 'bundles', '.bench-cross');
  const ours: number[] = [];
  const byHand: number[] = [];
  const runOurs = () => {
    rmSync(join(scratch, 'ours'), { recursive: true, force: true });
    rmSync(join(scratch, 'gocache-ours'), { recursive: true, force: true });
    ours.push(
      wallSeconds(taskArgv('make', '--platform', PLATFORM, '--only', GO_COMPONENTS.join(','), '--jobs', '1', '--bundles', join(scratch, 'ours')), {
        ...process.env,
        CI: 'true',
        GOCACHE: join(scratch, 'gocache-ours'),
      }),
    );
  };
  const runByHand = () => {
    const cross = join(scratch, 'ours', 'cross', 'linux-arm64');
    const records = [DAEMON_BUNDLE, CLIENT_BUNDLE].flatMap((name) => Object.entries(readManifest(bundlePaths(cross, name).current).components));
    rmSync(join(scratch, 'gocache-hand'), { recursive: true, force: true });
    const env = { ...process.env, GOCACHE: join(scratch, 'gocache-hand') };
    const paths = records.map(([name, record]) => {
      const work = join(scratch, 'hand', name, 'work');
      const out = join(scratch, 'hand', name, 'out');
      rmSync(join(scratch, 'hand', name), { recursive: true, force: true });
      mkdirSync(work, { recursive: true });
      mkdirSync(out, { recursive: true });
      const extras = Object.fromEntries(Object.entries(record.extraSources).map(([extra, source]) => [extraSourcePlaceholder(extra), moduleDir(source)]));
      return { record, paths: { [SRC]: moduleDir(record.source), [WORK]: work, [OUT]: out, ...extras } };
    });
    const started = performance.now();
    for (const { record, paths: placeholders } of paths) {
      for (const command of record.commands) wallSeconds(['sh', '-c', expandPlaceholders(command, placeholders)], env);
    }
    byHand.push((performance.now() - started) / 1000);
  };
  for (let round = 0; round < rounds; round++) {
    // The by-hand side needs a manifest to copy from: the first round builds first.
    if (round % 2 === 0) {
      runOurs();
      runByHand();
    } else {
      runByHand();
      runOurs();
    }
  }
  rmSync(scratch, { recursive: true, force: true });
  console.log(`\ncold cross build for ${PLATFORM} of the Go components (${GO_COMPONENTS.join(', ')}), empty Go build caches (median of ${rounds})`);
  console.log(`  the manifest's go build commands by hand  ${median(byHand).toFixed(1)} s`);
  console.log(
    `  npm run make -- --platform ${PLATFORM} --jobs 1  ${median(ours).toFixed(1)} s  (${(median(ours) / median(byHand)).toFixed(3)}x; target: at most 1.03x)`,
  );
  return 0;
}
