import { describe, expect, it } from 'vitest';
import { componentContext } from '../../builder/components.js';
import { goSteps } from '../../builder/recipes/go.js';
import { stepsFor } from '../../builder/recipes/index.js';
import { stampContext } from '../../builder/make.js';
import type { ResolvedSource } from '../../builder/model.js';
import cli, { CLI_BUILD } from '../../components/cli.js';
import { cliStamps } from '../../components/lib/docker-cli.js';
import { mobyGitCommit, mobyVersion, mobyVersionStamps } from '../../components/lib/moby.js';

const source: ResolvedSource = {
  kind: 'path',
  dir: '/src/moby',
  identity: 'git abc',
  version: 'v2.0.0-beta.21',
  commit: 'c5b8ce9274b5c00cb1f8287c8e258edc1f01176d',
  commitTime: new Date('2026-07-31T17:03:30Z'),
};

describe('moby version stamping (hack/make.sh)', () => {
  it('defaults VERSION to dev and strips git ref prefixes', () => {
    expect(mobyVersion(undefined)).toBe('dev');
    expect(mobyVersion('refs/tags/v29.0.0')).toBe('29.0.0');
    expect(mobyVersion('refs/tags/docker-v29.1.0')).toBe('29.1.0');
    expect(mobyVersion('refs/heads/feature/x//y')).toBe('feature-x-y');
    expect(mobyVersion('refs/pull/1234/merge')).toBe('pr-1234');
  });

  it('marks a dirty tree -unsupported, and DOCKER_GITCOMMIT wins', () => {
    expect(mobyGitCommit({}, source)).toBe(source.commit);
    expect(mobyGitCommit({}, { ...source, dirty: true })).toBe(`${source.commit}-unsupported`);
    expect(mobyGitCommit({ DOCKER_GITCOMMIT: 'deadbeef' }, { ...source, dirty: true })).toBe('deadbeef');
  });

  it('refuses a tree without a commit unless DOCKER_GITCOMMIT names it', () => {
    const { commit: _unused, ...noCommit } = source;
    expect(() => mobyGitCommit({}, noCommit)).toThrow(/DOCKER_GITCOMMIT/);
  });

  it('takes BuildTime from SOURCE_DATE_EPOCH, else the commit time, in date --rfc-3339 ns form', () => {
    expect(stampContext(source, {}).buildTime).toBe('2026-07-31T17:03:30.000000000+00:00');
    expect(stampContext(source, { SOURCE_DATE_EPOCH: '0' }).buildTime).toBe('1970-01-01T00:00:00.000000000+00:00');
    const stamps = mobyVersionStamps({ VERSION: 'refs/tags/v29.0.0' }, source, '2026-07-31T17:03:30.000000000+00:00');
    expect(stamps['github.com/moby/moby/v2/dockerversion.Version']).toBe('29.0.0');
    expect(stamps['github.com/moby/moby/v2/dockerversion.BuildTime']).toBe('2026-07-31T17:03:30.000000000+00:00');
  });
});

describe('go build steps', () => {
  it('spell the build as a Makefile would, quoting stamped values that contain spaces', () => {
    const [step] = goSteps(
      {
        kind: 'go',
        binaries: [{ package: './cmd/x', output: 'x' }],
        cgo: false,
        tags: ['netgo', 'osusergo'],
        ldflags: ['-w'],
        stamp: () => ({ 'main.name': 'two words' }),
      },
      source,
      { buildTime: 't', sourceDate: new Date(0) },
    );
    expect(step).toMatchObject({
      kind: 'exec',
      argv: ['go', 'build', '-trimpath', '-tags', 'netgo osusergo', '-ldflags', "-w -X 'main.name=two words'", '-o', '@OUT@/x', './cmd/x'],
      env: { CGO_ENABLED: '0', GOTOOLCHAIN: 'local' },
    });
  });
});

describe('docker CLI stamping (docker/cli scripts/build/.variables)', () => {
  const version = (name: string) => `github.com/docker/cli/cli/version.${name}`;
  const module: ResolvedSource = { kind: 'module', dir: '/m', identity: 'm', version: 'v29.7.1+incompatible', commitTime: new Date('2026-07-31T17:03:37Z') };

  it('stamps the tag without v or +incompatible, BuildTime in UTC seconds, PlatformName only when PLATFORM is set', () => {
    const stamps = cliStamps({}, module, stampContext(module, {}), CLI_BUILD);
    expect(stamps[version('Version')]).toBe('29.7.1');
    expect(stamps[version('BuildTime')]).toBe('2026-07-31T17:03:37Z');
    expect(stamps[version('GitCommit')]).toBe('e9452d6');
    expect(stamps).not.toHaveProperty(version('PlatformName'));
    expect(
      cliStamps({ PLATFORM: 'Docker Engine - Community', SOURCE_DATE_EPOCH: '0' }, module, stampContext(module, { SOURCE_DATE_EPOCH: '0' }), CLI_BUILD),
    ).toMatchObject({
      [version('PlatformName')]: 'Docker Engine - Community',
      [version('BuildTime')]: '1970-01-01T00:00:00Z',
    });
  });

  it("stamps a checkout's short HEAD and marks a dirty tree .m, as git describe --dirty='.m' does", () => {
    const checkout: ResolvedSource = { ...source, version: 'v29.7.1-3-gabcdef0-dirty', dirty: true };
    const stamps = cliStamps({}, checkout, stampContext(checkout, {}), CLI_BUILD);
    expect(stamps[version('Version')]).toBe('29.7.1-3-gabcdef0.m');
    expect(stamps[version('GitCommit')]).toBe(source.commit!.slice(0, 7));
  });

  it('builds in a writable copy where vendor.mod and vendor.sum become go.mod and go.sum, never turning verification off', () => {
    const spec = cli({ ...componentContext({}, false), hasPkgConfig: () => false });
    const steps = stepsFor(spec, module, stampContext(module, {}));
    expect(steps.slice(0, 3)).toEqual([
      { kind: 'copy-tree', from: '@SRC@', to: '@WORK@/src' },
      { kind: 'copy', from: '@WORK@/src/vendor.mod', to: '@WORK@/src/go.mod', mode: 0o644 },
      { kind: 'copy', from: '@WORK@/src/vendor.sum', to: '@WORK@/src/go.sum', mode: 0o644 },
    ]);
    expect(steps[3]).toMatchObject({ kind: 'exec', cwd: '@WORK@/src', env: { CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false -mod=readonly' } });
    expect(spec.bundle).toBe('binary-client');
    expect(spec.sources[0]).toMatchObject({ kind: 'module', module: 'github.com/docker/cli', version: 'v29.7.1+incompatible' });
    expect(cli({ ...componentContext({ DOCKERCLI_VERSION: 'v29.7.2' }, false), hasPkgConfig: () => false }).sources).toEqual([
      { kind: 'module', module: 'github.com/docker/cli', version: 'v29.7.2+incompatible' },
    ]);
  });
});
