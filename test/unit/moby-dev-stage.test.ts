import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDevStage, readDevStage } from '../../testrunner/dev-container/dockerfile.js';
import { parseAlternatives } from '../../testrunner/dev-container/packages.js';
import { moduleZipRepairs } from '../../testrunner/dev-container/plan.js';
import { cliSuites, suiteSplit } from '../../testrunner/integration.js';
import { parseIntegrationOptions } from '../../testrunner/options.js';
import { projectRoot } from '../../tasks/paths.js';
import { tempDir } from '../support/temp.js';

const fixtureTree = join(projectRoot, 'test', 'fixtures', 'moby-tests');

describe("moby's dev container, read from the source's Dockerfile", () => {
  it('follows the dev stage back to its base with the ARG defaults, and leaves out heredoc bodies and other variants', () => {
    const stage = readDevStage(fixtureTree);
    expect(stage.baseImage).toBe('debian:bookworm');
    // base's `file`, then dev-base's list; not dev-systemd-true's systemd (SYSTEMD=false), not the heredoc's echo.
    expect(stage.aptPackages).toEqual(['file', 'inetutils-ping', 'iptables', 'jq', 'netcat-openbsd', 'sudo', 'uidmap']);
    expect(stage.frozenImages).toEqual(['busybox:latest', 'hello-world:latest']);
    // COPY from the tree only: not --from a stage.
    expect(stage.copies).toEqual([{ from: 'hack/dockerfile/etc/docker/', to: '/etc/docker/' }]);
    expect(stage.args.DOCKERCLI_INTEGRATION_VERSION).toBe('v25.0.5');
  });

  it("adds the golang image's own packages when the stages start from it", () => {
    const stage = parseDevStage(
      [
        'ARG GO_VERSION=1.26.5',
        'ARG GOLANG_IMAGE="golang:${GO_VERSION}-bookworm"',
        'FROM --platform=$BUILDPLATFORM ${GOLANG_IMAGE} AS base',
        'FROM base AS dev',
        'RUN apt-get update && apt-get install -y --no-install-recommends \\',
        '    # a comment inside the list',
        '    zstd && rm -rf /var/lib/apt/lists',
      ].join('\n'),
    );
    expect(stage.baseImage).toBe('golang:1.26.5-bookworm');
    expect(stage.aptPackages).toContain('curl');
    expect(stage.aptPackages).toContain('g++');
    expect(stage.aptPackages.at(-1)).toBe('zstd');
  });

  it('a tree without a Dockerfile is a one-line error naming the file', () => {
    expect(() => readDevStage(tempDir('no-dockerfile'))).toThrow(/Dockerfile is missing/);
  });
});

describe('the packages layer', () => {
  it("takes update-alternatives' links from a postinst, slaves with their master's priority", () => {
    const postinst = readFileSync(join(projectRoot, 'test', 'fixtures', 'iptables.postinst'), 'utf8');
    const links = parseAlternatives(postinst);
    expect(links).toContainEqual({ link: '/usr/sbin/iptables', name: 'iptables', path: '/usr/sbin/iptables-nft', priority: 20 });
    expect(links).toContainEqual({ link: '/usr/sbin/iptables', name: 'iptables', path: '/usr/sbin/iptables-legacy', priority: 10 });
    expect(links).toContainEqual({ link: '/usr/sbin/ip6tables-save', name: 'ip6tables-save', path: '/usr/sbin/ip6tables-nft-save', priority: 20 });
    expect(links.filter((link) => link.priority === 20)).toHaveLength(12);
  });
});

describe("what a module zip drops from moby's tree", () => {
  it('links the integration-cli certificates hack/generate-test-certs.sh says are links, and makes scripts executable', () => {
    const tree = tempDir('module-zip');
    mkdirSync(join(tree, 'integration', 'testdata', 'https'), { recursive: true });
    mkdirSync(join(tree, 'integration-cli', 'fixtures', 'https'), { recursive: true });
    for (const name of ['ca.pem', 'server-cert.pem']) writeFileSync(join(tree, 'integration', 'testdata', 'https', name), '');
    writeFileSync(join(tree, 'integration-cli', 'fixtures', 'https', 'ca.pem'), 'its own');
    expect(moduleZipRepairs(tree)).toEqual([
      { kind: 'scripts-executable', dir: '/usr/src/moby' },
      { kind: 'symlink', path: '/usr/src/moby/integration-cli/fixtures/https/server-cert.pem', target: '../../../integration/testdata/https/server-cert.pem' },
    ]);
  });
});

describe("integration-cli's suites", () => {
  it("are check_test.go's Test*Suite entry points, in the file's order", () => {
    const tree = tempDir('cli-suites');
    mkdirSync(join(tree, 'integration-cli'));
    writeFileSync(
      join(tree, 'integration-cli', 'check_test.go'),
      'func TestMain(m *testing.M) {}\nfunc TestDockerAPISuite(t *testing.T) {\n}\nfunc TestDockerCLIPsSuite(t *testing.T) {\n}\nfunc helperSuite(t *testing.T) {}\n',
    );
    expect(cliSuites(tree)).toEqual(['TestDockerAPISuite', 'TestDockerCLIPsSuite']);
    const options = (testflags: string, env: Record<string, string> = {}) => parseIntegrationOptions([], { TESTFLAGS: testflags, ...env });
    // Each suite a run of its own: all of them, or those a shard of moby CI names.
    expect(suiteSplit(options('-test.failfast'), tree)).toEqual({ suites: ['TestDockerAPISuite', 'TestDockerCLIPsSuite'], otherFlags: ['-test.failfast'] });
    expect(suiteSplit(options('-test.run (TestDockerCLIPsSuite)/ -test.count 1'), tree)).toEqual({
      suites: ['TestDockerCLIPsSuite'],
      otherFlags: ['-test.count', '1'],
    });
    expect(suiteSplit(options('-test.run=(TestDockerAPISuite|TestDockerCLIPsSuite)/'), tree)?.suites).toEqual(['TestDockerAPISuite', 'TestDockerCLIPsSuite']);
    // Anything else runs as the caller wrote it, in one binary run.
    expect(suiteSplit(options('-test.run (TestDockerCLIPsSuite)/TestPsListContainersSize'), tree)).toBeUndefined();
    expect(suiteSplit(options('-test.run (TestNoSuchSuite)/'), tree)).toBeUndefined();
    expect(suiteSplit(options('', { TEST_FILTER: 'TestPs' }), tree)).toBeUndefined();
  });
});
