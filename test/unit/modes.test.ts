import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { integrationDaemonArgs, integrationResultsName, integrationTestFlags } from '../../testrunner/integration.js';
import { parseIntegrationOptions } from '../../testrunner/options.js';
import { mobyTestEnv } from '../../testrunner/test-env.js';

const parse = (argv: string[], env: Record<string, string> = {}) => parseIntegrationOptions(argv, env);

describe("moby CI's daemon modes", () => {
  it('--mode rootless stands for the variables the workflow exports, and names its results folder', () => {
    const options = parse(['--mode', 'rootless']);
    expect(options.mode).toMatchObject({ name: 'rootless', rootless: true, useGraphdriver: false });
    expect(options.graphDriver).toBe('overlayfs');
    expect(options.experimental).toBe(true);
    expect(integrationResultsName(options)).toBe('test-integration-rootless');
    expect(integrationDaemonArgs(options)).toEqual(['--debug', '--storage-driver', 'overlayfs', '--userland-proxy=true', '--experimental']);
  });

  it('graphdriver legs run overlay2 with TEST_INTEGRATION_USE_GRAPHDRIVER, userns remaps, nftables picks the backend', () => {
    const options = parse(['--mode', 'graphdriver+userns']);
    expect(options.graphDriver).toBe('overlay2');
    expect(options.mode.name).toBe('graphdriver-userns');
    expect(integrationDaemonArgs(options)).toContain('--userns-remap');
    const env = mobyTestEnv({
      env: {},
      dest: '/d',
      bundleDir: '/b',
      goBinary: '/go/bin/go',
      gocache: '/c',
      gopath: '/p',
      modeEnv: { DOCKER_REMAP_ROOT: 'default' },
    });
    expect(env.DOCKER_REMAP_ROOT).toBe('default');
    expect(integrationDaemonArgs(parse(['--mode', 'nftables']))).toContain('--firewall-backend=nftables');
  });

  it('the variables alone give the same mode, and a flag wins over --mode', () => {
    expect(parse([], { DOCKER_ROOTLESS: '1' }).mode.name).toBe('rootless');
    expect(parse(['--mode', 'graphdriver', '--graphdriver', 'vfs']).graphDriver).toBe('vfs');
    expect(parse([]).mode.name).toBe('default');
    expect(integrationResultsName(parse([]))).toBe('test-integration');
  });

  it('DOCKER_STORAGE_OPTS, DOCKERD_ARGS and the per-suite TESTFLAGS reach the daemon and the binaries', () => {
    const options = parse([], {
      DOCKER_STORAGE_OPTS: 'a=1,b=2',
      DOCKERD_ARGS: '--log-level debug',
      TESTFLAGS_INTEGRATION: '-test.count=2',
      TESTFLAGS_INTEGRATION_CLI: '-test.short',
    });
    expect(integrationDaemonArgs(options).slice(-6)).toEqual(['--storage-opt', 'a=1', '--storage-opt', 'b=2', '--log-level', 'debug']);
    expect(integrationTestFlags(options, './integration/system')).toContain('-test.count=2');
    expect(integrationTestFlags(options, './integration/system')).not.toContain('-test.short');
    expect(integrationTestFlags(options, './integration-cli')).toContain('-test.short');
  });

  it('unknown words, modes this machine cannot give, and contradictions are one-line errors', () => {
    for (const [argv, env, message] of [
      [['--mode', 'rootles'], {}, /"rootles" is not one of moby CI's modes/],
      [['--mode', 'rootless-systemd'], {}, /systemd cannot run here/],
      [['--mode', 'nftables+firewalld'], {}, /firewalld cannot run here/],
      [['--mode', 'nftables+iptables'], {}, /one firewall backend/],
      [['--mode', 'userns'], {}, /only on its graphdriver legs/],
      [[], { DOCKER_ROOTLESS: '1', DOCKER_REMAP_ROOT: 'default' }, /cannot remap users/],
      [[], { DOCKER_FIREWALL_BACKEND: 'pf' }, /not a firewall backend/],
    ] as const) {
      expect(() => parse([...argv], { ...env })).toThrow(UserError);
      expect(() => parse([...argv], { ...env })).toThrow(message);
    }
  });

  it('--shard, --list-shards and --jobs take only what they can mean', () => {
    expect(parse(['--shard', '2/3']).shard).toEqual({ index: 2, count: 3 });
    expect(integrationResultsName(parse(['--mode', 'nftables', '--shard', '2/3']))).toBe('test-integration-nftables-shard-2-of-3');
    expect(() => parse(['--shard', '3/2'])).toThrow(/--shard 3\/2 is not one of N shards/);
    expect(() => parse(['--shard', '0/2'])).toThrow(UserError);
    expect(() => parse(['--jobs', '0'])).toThrow(/--jobs 0 is not a positive whole number/);
    expect(() => parse(['--list-shards', 'x'])).toThrow(/--list-shards x/);
  });
});
