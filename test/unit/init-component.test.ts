import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cmakeSteps } from '../../builder/recipes/cmake.js';
import { componentContext, loadComponents } from '../../builder/components.js';
import { outputsOf, type CMakeRecipe, type ComponentSpec, type ResolvedSource } from '../../builder/model.js';
import { projectRoot } from '../../tasks/paths.js';

const COMMIT = 'de40ad007797e0dcd8b7126f27bb87401d224240';
const loadInit = async (env: Record<string, string> = {}): Promise<ComponentSpec> => {
  const specs = await loadComponents(join(projectRoot, 'components'), { ...componentContext(env, false), hasPkgConfig: () => false });
  const init = specs.find((s) => s.name === 'init');
  if (!init) throw new Error('no init component');
  return init;
};
const cmakeRecipe = (spec: ComponentSpec): CMakeRecipe => {
  if (spec.recipe.kind !== 'cmake') throw new Error('init is not built with cmake');
  return spec.recipe;
};
const resolved = (overrides: Partial<ResolvedSource>): ResolvedSource => ({
  kind: 'git',
  dir: '/cache/git/x',
  identity: `git ${COMMIT}`,
  version: 'v0.19.0',
  commit: COMMIT,
  ...overrides,
});

describe('the init component (docker-init = tini)', () => {
  it('puts docker-init in the bundle from tini v0.19.0: upstream git first, then Debian’s tarball', async () => {
    const init = await loadInit();
    expect(outputsOf(init)).toEqual(['docker-init']);
    expect(init.sources).toEqual([
      { kind: 'git', url: 'https://github.com/krallin/tini.git', ref: 'v0.19.0', commit: COMMIT },
      {
        kind: 'debian-source',
        package: 'tini',
        version: '0.19.0-1',
        file: 'tini_0.19.0.orig.tar.gz',
        sha256: '0fd35a7030052acd9f58948d1d900fe1e432ee37103c5561554408bdac6bbf0d',
        upstreamVersion: 'v0.19.0',
        commit: COMMIT,
      },
    ]);
    expect(init.needs.map((n) => (n.kind === 'go' ? 'go' : n.aptPackage)).sort()).toEqual(['cmake', 'gcc', 'libc6-dev', 'make']);
  });

  it('builds a local checkout with TINI_SRC, and another release only with its commit', async () => {
    expect((await loadInit({ TINI_SRC: '/src/tini' })).sources).toEqual([{ kind: 'path', dir: '/src/tini' }]);
    await expect(loadInit({ TINI_VERSION: 'v0.18.0' })).rejects.toThrow(/TINI_VERSION=v0\.18\.0 needs TINI_COMMIT/);
    const other = await loadInit({ TINI_VERSION: 'v0.18.0', TINI_COMMIT: 'f'.repeat(40) });
    expect(other.sources).toEqual([{ kind: 'git', url: 'https://github.com/krallin/tini.git', ref: 'v0.18.0', commit: 'f'.repeat(40) }]);
  });

  it('runs `cmake . && make tini-static` in a writable copy, as moby’s tini installer does', async () => {
    const steps = cmakeSteps(cmakeRecipe(await loadInit()), resolved({}));
    expect(steps).toEqual([
      { kind: 'copy-tree', from: '@SRC@', to: '@WORK@/src' },
      { kind: 'exec', argv: ['cmake', '-DCMAKE_POLICY_VERSION_MINIMUM=3.5', '.'], cwd: '@WORK@/src', env: { CFLAGS: '-ffile-prefix-map=@WORK@/src=.' } },
      { kind: 'exec', argv: ['make', 'tini-static'], cwd: '@WORK@/src', env: { CFLAGS: '-ffile-prefix-map=@WORK@/src=.' } },
      { kind: 'copy', from: '@WORK@/src/tini-static', to: '@OUT@/docker-init', mode: 0o755 },
    ]);
  });

  it('supplies the git id only to a tree without .git, from the commit the tarball was cut from', async () => {
    const recipe = cmakeRecipe(await loadInit());
    const tarball = cmakeSteps(recipe, resolved({ kind: 'debian-source', identity: 'sha256:0fd3', dir: '/cache/debian-source/trees/0fd3' }));
    expect(tarball[1]).toEqual({
      kind: 'edit',
      file: '@WORK@/src/CMakeLists.txt',
      find: 'set(tini_VERSION_GIT "")',
      replace: 'set(tini_VERSION_GIT " - git.de40ad0")',
    });
    // A checkout (git, or a contributor's path) has its .git: tini's CMakeLists reads it, -dirty included.
    expect(cmakeSteps(recipe, resolved({ kind: 'path', dirty: true })).some((s) => s.kind === 'edit')).toBe(false);
  });

  it('describes the build with placeholders only, so the cache key does not depend on where it runs', async () => {
    const recipe = cmakeRecipe(await loadInit());
    const one = JSON.stringify(cmakeSteps(recipe, resolved({ kind: 'debian-source', dir: '/a' })));
    const two = JSON.stringify(cmakeSteps(recipe, resolved({ kind: 'debian-source', dir: '/elsewhere/b' })));
    expect(one).toBe(two);
    expect(one).not.toMatch(/"\/(?!usr)/); // no absolute path in any step
  });
});
