import { createHash } from 'node:crypto';
import { cpSync, linkSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { bundlePaths } from '../../../core/bundle-layout.js';
import { readManifest, serializeManifest } from '../../../core/manifest.js';
import { allPids, argvOf, exeOf } from '../../../core/procfs.js';
import type { TestRunEvent } from '../../../testrunner/events.js';
import { parseEventLine } from '../../../testrunner/inside.js';
import { UPLINK_DEVICE } from '../../../testrunner/uplink.js';
import { projectRoot } from '../../../tasks/paths.js';
import { tempDir } from '../../support/temp.js';
import { FixtureRepo } from '../../support/git-repos.js';

/**
 * The runner end to end on a fixture "moby tree" (test/fixtures/moby-tests):
 * real go, gotestsum, namespaces and a test daemon from the bundle, whose
 * manifest is rewritten to say it was built from that tree (DAEMON_SRC).
 */
export function fixtureSource(): { dir: string; commit: string } {
  const dir = tempDir('moby-tests');
  cpSync(join(projectRoot, 'test', 'fixtures', 'moby-tests'), dir, { recursive: true });
  const repo = new FixtureRepo(dir);
  return { dir, commit: repo.commit({}, 'fixture') };
}

/** A bundles root whose binary-daemon is the real bundle (hard links) with a manifest that names the fixture as dockerd's source. */
export function fixtureBundles(source: { dir: string; commit: string }): string {
  const { commit } = source;
  const root = tempDir('runner-bundles');
  const real = bundlePaths(inject('bundlesDir')).current;
  const copy = bundlePaths(root).current;
  mkdirSync(copy);
  for (const name of readdirSync(real)) if (!name.startsWith('manifest.json')) linkSync(join(real, name), join(copy, name));
  const manifest = readManifest(real);
  const daemon = manifest.components.daemon;
  if (!daemon) throw new Error('the bundle has no daemon component');
  daemon.source = { kind: 'path', identity: `git ${commit}`, version: 'fixture', commit, origin: { dir: source.dir } };
  const text = serializeManifest(manifest);
  writeFileSync(join(copy, 'manifest.json'), text);
  writeFileSync(join(copy, 'manifest.json.sha256'), `${createHash('sha256').update(text).digest('hex')}  manifest.json\n`);
  writeFileSync(join(copy, 'manifest.json.md5'), `${createHash('md5').update(text).digest('hex')}  manifest.json\n`);
  return root;
}

export function events(stdout: string): TestRunEvent[] {
  return stdout
    .split('\n')
    .map((line) => parseEventLine(line))
    .filter((event): event is TestRunEvent => event !== undefined);
}

export function summaryOf(stdout: string): Extract<TestRunEvent, { type: 'summary' }> {
  const summary = events(stdout).find((event) => event.type === 'summary');
  if (summary?.type !== 'summary') throw new Error(`no summary in:\n${stdout}`);
  return summary;
}

/** Nothing of a run may remain: no mount under its folders, no process running a binary from its bundle or results, no uplink. */
export function leftovers(root: string, sourceDir: string): string[] {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((line) => line.includes(root) || line.includes(sourceDir) || /^mmk-(run|tmp) /.test(line));
  const processes = allPids()
    .filter((pid) => (exeOf(pid) ?? '').startsWith(root) || ((argvOf(pid)[0] ?? '').endsWith('slirp4netns') && argvOf(pid).includes(UPLINK_DEVICE)))
    .map((pid) => `${pid} ${argvOf(pid).join(' ')}`);
  return [...mounts, ...processes];
}
