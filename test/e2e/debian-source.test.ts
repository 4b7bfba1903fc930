import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TINI_DEBIAN_SOURCE } from '../../components/init.js';
import { resolveDebianSource } from '../../builder/sources/debian-source.js';
import { tempDir } from '../support/temp.js';
import { resolveContext } from '../support/git-repos.js';

/** Bookworm's tini source package, as the init component pins it. */
const TINI = TINI_DEBIAN_SOURCE;

/** Every byte (and the mtime) of the system's apt source files, by path. */
function aptSourcesSnapshot(): Record<string, string> {
  const snapshot: Record<string, string> = {};
  const add = (path: string) => {
    const stat = statSync(path);
    snapshot[path] = stat.isDirectory() ? `dir ${stat.mtimeMs}` : `${stat.mtimeMs} ${readFileSync(path).toString('base64')}`;
  };
  for (const name of readdirSync('/etc/apt').filter((n) => n.startsWith('sources.list'))) {
    const path = join('/etc/apt', name);
    add(path);
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path, { recursive: true }) as string[]) add(join(path, entry));
  }
  return snapshot;
}

describe('the debian-source source, against the machine’s own apt mirrors', () => {
  it('fetches and extracts the pinned upstream tarball, leaving the system apt sources byte-identical', async () => {
    const before = aptSourcesSnapshot();
    expect(Object.keys(before).length).toBeGreaterThan(0);
    const work = tempDir('debian-source');
    const context = resolveContext(join(work, 'cache'), join(work, 'run'));
    const source = await resolveDebianSource(TINI, context);

    expect(aptSourcesSnapshot()).toEqual(before);
    expect(source).toEqual({
      kind: 'debian-source',
      dir: join(work, 'cache', 'debian-source', 'trees', TINI.sha256),
      identity: `sha256:${TINI.sha256}`,
      version: 'v0.19.0',
      commit: TINI.commit,
      dirty: false,
    });
    expect(readFileSync(join(source.dir, 'CMakeLists.txt'), 'utf8')).toContain('project (tini C)');
    expect(existsSync(join(source.dir, 'src', 'tini.c'))).toBe(true);
    expect(context.logText()).toContain(`apt-get -c ${join(work, 'cache', 'debian-source', 'apt', 'apt.conf')} source --download-only tini=0.19.0-1`);
    expect(context.logText()).toContain(`matches the pinned sha256 ${TINI.sha256}`);
    // The private deb-src entries keep the system's keyrings: apt checked the signatures with them.
    const derived = readdirSync(join(work, 'cache', 'debian-source', 'apt', 'sources.list.d'))
      .map((name) => readFileSync(join(work, 'cache', 'debian-source', 'apt', 'sources.list.d', name), 'utf8'))
      .join('\n');
    expect(derived).toMatch(/deb-src/);
    expect(derived).not.toMatch(/trusted=yes|Trusted: yes/i);
    expect(readdirSync(join(work, 'run'))).toEqual([]); // the download folder is gone

    // A second use is served from the cache: with no apt on PATH it would fail otherwise.
    const offline = resolveContext(join(work, 'cache'), join(work, 'run'), { ...process.env, PATH: join(work, 'no-such-bin') });
    expect(await resolveDebianSource(TINI, offline)).toEqual(source);
    expect(offline.logText()).toMatch(/is in the cache .*; not fetching/);
  });

  it('refuses a tarball that does not match the pinned sha256 and extracts nothing', async () => {
    const work = tempDir('debian-source-bad');
    const wrong = 'f'.repeat(64);
    const context = resolveContext(join(work, 'cache'), join(work, 'run'));
    const attempt = resolveDebianSource({ ...TINI, sha256: wrong }, context);
    await expect(attempt).rejects.toThrow(`tini_0.19.0.orig.tar.gz has sha256 ${TINI.sha256}, but the component pins ${wrong}; refusing to extract it`);
    const trees = join(work, 'cache', 'debian-source', 'trees');
    expect(existsSync(trees) ? readdirSync(trees) : []).toEqual([]);
    expect(readdirSync(join(work, 'run'))).toEqual([]);
    expect(context.logText()).not.toMatch(/matches the pinned sha256/);
  });

  it('names the package and version when the mirrors do not have it', async () => {
    const work = tempDir('debian-source-missing');
    const attempt = resolveDebianSource({ ...TINI, version: '0.0.1-99' }, resolveContext(join(work, 'cache'), join(work, 'run')));
    await expect(attempt).rejects.toThrow(/apt-get source tini=0\.0\.1-99 failed: E: (Unable to find a source package for tini|Can not find version)/);
  });
});
