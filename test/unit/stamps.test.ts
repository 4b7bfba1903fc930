import { describe, expect, it } from 'vitest';
import { goSteps } from '../../build/builders/go.js';
import { stampContext } from '../../build/make.js';
import type { ResolvedSource } from '../../build/model.js';
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
