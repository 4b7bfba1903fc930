import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { componentContext, loadComponents, selectComponents } from '../../builder/components.js';
import { outputsOf, type ComponentSpec, type GoRecipe } from '../../builder/model.js';
import { projectRoot } from '../../tasks/paths.js';

const components = join(projectRoot, 'components');
const load = (env: Record<string, string> = {}, dynamic = false) =>
  loadComponents(components, { ...componentContext(env, dynamic), hasPkgConfig: () => false });
const goRecipe = (spec: ComponentSpec | undefined): GoRecipe => {
  if (spec?.recipe.kind !== 'go') throw new Error(`${spec?.name} is not a Go component`);
  return spec.recipe;
};

describe('the component set', () => {
  it('produces every file of the daemon bundle, each from exactly one component within its bundle', async () => {
    const specs = await load();
    const outputs = specs.flatMap((spec) => outputsOf(spec).map((name) => (spec.bundle ? `${spec.bundle}/${name}` : name))).sort();
    expect(outputs).toEqual(
      expect.arrayContaining([
        'containerd',
        'containerd-shim-runc-v2',
        'ctr',
        'docker-proxy',
        'dockerd',
        'dockerd-rootless-setuptool.sh',
        'dockerd-rootless.sh',
        'rootlesskit',
        'runc',
        'binary-client/docker',
        'binary-cli-integration/docker',
      ]),
    );
    expect(new Set(outputs).size).toBe(outputs.length);
  });

  it('pins the versions moby builds, overridable like its Dockerfile ARGs', async () => {
    const byName = (specs: ComponentSpec[], name: string) => specs.find((s) => s.name === name)?.sources[0];
    const pinned = await load();
    expect(byName(pinned, 'runc')).toMatchObject({ kind: 'module', module: 'github.com/opencontainers/runc', version: 'v1.4.3' });
    expect(byName(pinned, 'containerd')).toMatchObject({ module: 'github.com/containerd/containerd/v2', version: 'v2.3.4' });
    expect(byName(pinned, 'rootlesskit')).toMatchObject({ module: 'github.com/rootless-containers/rootlesskit/v3', version: 'v3.1.0' });
    expect(byName(pinned, 'daemon')).toMatchObject({ module: 'github.com/moby/moby/v2', version: 'v2.0.0-beta.21' });
    const overridden = await load({ RUNC_VERSION: 'v1.4.2', CONTAINERD_VERSION: 'v2.3.3', ROOTLESSKIT_VERSION: 'v3.0.2', DAEMON_VERSION: 'v2.0.0-beta.20' });
    expect(byName(overridden, 'runc')).toMatchObject({ version: 'v1.4.2' });
    expect(byName(overridden, 'containerd')).toMatchObject({ version: 'v2.3.3' });
    expect(byName(overridden, 'rootlesskit')).toMatchObject({ version: 'v3.0.2' });
    expect(byName(overridden, 'daemon')).toMatchObject({ version: 'v2.0.0-beta.20' });
  });

  it('offers the upstream git repository after the module, at the pinned commit', async () => {
    const runc = (await load()).find((s) => s.name === 'runc');
    expect(runc?.sources.map((s) => s.kind)).toEqual(['module', 'git']);
    expect(runc?.sources[1]).toMatchObject({ ref: 'v1.4.3', commit: 'bb14dabeb7185bb72c8c86735d090dcb20f36587' });
  });

  it('checks the pinned sum only for the pinned release, and offers git only where a commit is known', async () => {
    const runcOf = async (env: Record<string, string>) => (await load(env)).find((s) => s.name === 'runc')?.sources;
    expect((await runcOf({}))?.[0]).toMatchObject({ sum: 'h1:/bq84roxG30xEICkFodXzMEVQFs7kzo4lCiZME1uKxI=' });
    const other = await runcOf({ RUNC_VERSION: 'v1.4.2' });
    expect(other).toEqual([{ kind: 'module', module: 'github.com/opencontainers/runc', version: 'v1.4.2' }]);
    const withCommit = await runcOf({ RUNC_VERSION: 'v1.4.2', RUNC_COMMIT: 'c241c0bb5e60a8e8c1b2e53d4eca8d0068d8d57e' });
    expect(withCommit?.map((s) => s.kind)).toEqual(['module', 'git']);
    expect(withCommit?.[1]).toMatchObject({ ref: 'v1.4.2', commit: 'c241c0bb5e60a8e8c1b2e53d4eca8d0068d8d57e' });
  });

  it('builds a local checkout instead when DAEMON_SRC is set', async () => {
    const daemon = (await load({ DAEMON_SRC: '/src/moby' })).find((s) => s.name === 'daemon');
    expect(daemon?.sources).toEqual([{ kind: 'path', dir: '/src/moby' }]);
  });

  it('builds dockerd like hack/make.sh: static by default, dynamic PIE for dynbinary', async () => {
    const staticDaemon = goRecipe((await load({ DOCKER_BUILDTAGS: 'no_btrfs' })).find((s) => s.name === 'daemon'));
    expect(staticDaemon.cgo).toBe(true);
    expect(staticDaemon.tags).toEqual(['netgo', 'osusergo', 'static_build', 'nri_no_wasm', 'no_btrfs']);
    expect(staticDaemon.ldflags).toEqual(['-w', '-extldflags -static']);
    const dynamicDaemon = goRecipe((await load({ DOCKER_DEBUG: '1' }, true)).find((s) => s.name === 'daemon'));
    expect(dynamicDaemon.buildmode).toBe('pie');
    expect(dynamicDaemon.tags).toEqual(['nri_no_wasm']);
    expect(dynamicDaemon.ldflags).toEqual([]);
  });

  it('keeps docker-proxy and containerd free of cgo when static', async () => {
    const specs = await load();
    expect(goRecipe(specs.find((s) => s.name === 'proxy')).cgo).toBe(false);
    expect(goRecipe(specs.find((s) => s.name === 'containerd')).cgo).toBe(false);
    expect(goRecipe(specs.find((s) => s.name === 'shim')).cgo).toBe(false);
  });
});

describe('--only', () => {
  it('keeps the named components in declaration order', async () => {
    const specs = await load();
    expect(selectComponents(specs, ['runc', 'containerd']).map((s) => s.name)).toEqual(['containerd', 'runc']);
  });

  it('rejects an unknown name and lists the valid ones', async () => {
    const specs = await load();
    expect(() => selectComponents(specs, ['runc', 'dockr'])).toThrow(/unknown component: dockr/);
    try {
      selectComponents(specs, ['dockr']);
    } catch (error) {
      expect((error as { hint?: string }).hint).toMatch(/Valid names: .*daemon.*runc/);
    }
  });
});
