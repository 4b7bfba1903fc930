import { describe, expect, it } from 'vitest';
import { commitMatches, foreignPieces } from '../../devdaemon/commits.js';
import { dockerdArgv, dockerdEnv } from '../../devdaemon/command.js';
import { stateLayout } from '../../devdaemon/layout.js';
import { planBridge, readRoutes } from '../../devdaemon/network.js';
import { parseDevDaemonArgs } from '../../tasks/cli/dev-daemon-args.js';
import { emptyManifest, type Manifest, type SourceRecord } from '../../core/manifest.js';

const RUNC: SourceRecord = {
  kind: 'module',
  identity: 'runc',
  version: 'v1.4.3',
  commit: 'bb14dabeb7185bb72c8c86735d090dcb20f36587',
  origin: { module: 'github.com/opencontainers/runc', version: 'v1.4.3' },
};
const CONTAINERD: SourceRecord = {
  kind: 'module',
  identity: 'containerd',
  version: 'v2.3.4',
  commit: 'db8809540e1a7a9da5d518876894933ff55692ab',
  origin: { module: 'github.com/containerd/containerd/v2', version: 'v2.3.4' },
};
const TINI: SourceRecord = {
  kind: 'debian-source',
  identity: 'tini',
  version: 'v0.19.0',
  commit: 'de40ad007797e0dcd8b7126f27bb87401d224240',
  origin: { package: 'tini', version: '0.19.0-1', file: 'tini_0.19.0.orig.tar.gz' },
};

function manifestWith(sources: Record<string, SourceRecord>): Manifest {
  const manifest = emptyManifest();
  for (const [file, source] of Object.entries(sources)) {
    manifest.components[file] = { fingerprint: '', source, extraSources: {}, toolchain: {}, commands: [], outputs: [file] };
    manifest.files[file] = { component: file, sha256: '', md5: '', size: 0 };
  }
  return manifest;
}

describe('commit checks against /info', () => {
  it('accepts what dockerd reports for the bundle pieces', () => {
    expect(commitMatches('v1.4.3-0-gbb14dabeb', RUNC)).toBe(true);
    expect(commitMatches('db8809540e1a7a9da5d518876894933ff55692ab', CONTAINERD)).toBe(true);
    expect(commitMatches('de40ad0', TINI)).toBe(true);
    expect(commitMatches('v1.4.3-0-gbb14dabeb-dirty', RUNC)).toBe(true);
  });

  it('refuses other commits, N/A and too-short ids', () => {
    expect(commitMatches('v1.1.12-0-g51d5e946', RUNC)).toBe(false);
    expect(commitMatches('N/A', TINI)).toBe(false);
    expect(commitMatches('', CONTAINERD)).toBe(false);
    expect(commitMatches('de40', TINI)).toBe(false);
  });

  it('names each foreign piece with what was reported and expected', () => {
    const manifest = manifestWith({ runc: RUNC, containerd: CONTAINERD, 'docker-init': TINI });
    const info = { RuncCommit: { ID: 'v1.4.3-0-gbb14dabeb' }, ContainerdCommit: { ID: CONTAINERD.commit! }, InitCommit: { ID: 'N/A' } };
    expect(foreignPieces(info, manifest)).toEqual([{ piece: 'docker-init', reported: 'N/A', expected: TINI.commit }]);
    expect(foreignPieces(info, manifestWith({ runc: RUNC, containerd: CONTAINERD })).map((m) => m.piece)).toEqual(['docker-init']);
  });
});

describe('dev-daemon arguments', () => {
  it('keeps its own options and passes the rest to dockerd', () => {
    const args = parseDevDaemonArgs(['--detach', '--experimental', '--state', '/tmp/s', '--log-level', 'debug', '--', '--state', 'x']);
    expect(args).toMatchObject({ command: 'start', detach: true, stateDir: '/tmp/s', dockerdArgs: ['--experimental', '--log-level', 'debug', '--state', 'x'] });
    expect(parseDevDaemonArgs(['stop', '--state=/tmp/s', '--stop-timeout', '5'])).toMatchObject({ command: 'stop', stateDir: '/tmp/s', stopTimeout: 5 });
  });

  it('allows loopback TCP, and other TCP only with --tlsverify', () => {
    expect(() => parseDevDaemonArgs(['-H', 'tcp://127.0.0.1:2375'])).not.toThrow();
    expect(() => parseDevDaemonArgs(['--host=tcp://[::1]:2375'])).not.toThrow();
    expect(() => parseDevDaemonArgs(['-Htcp://0.0.0.0:2375'])).toThrow(/beyond loopback without TLS/);
    expect(() => parseDevDaemonArgs(['-H', 'tcp://:2375'])).toThrow(/beyond loopback without TLS/);
    expect(() => parseDevDaemonArgs(['-H', 'tcp://192.0.2.2:2376', '--tlsverify'])).not.toThrow();
    expect(() => parseDevDaemonArgs(['-H', 'fd://'])).toThrow(/unix:\/\/ or tcp:\/\//);
  });

  it('refuses flags that would share system state, and dockerd flags on other commands', () => {
    expect(() => parseDevDaemonArgs(['--exec-root=/var/run/docker'])).toThrow(/--exec-root cannot be passed/);
    expect(() => parseDevDaemonArgs(['-b', 'docker0'])).toThrow(/-b cannot be passed/);
    expect(() => parseDevDaemonArgs(['status', '--debug'])).toThrow(/`status` takes no dockerd flags/);
  });
});

describe('dockerd command line', () => {
  const layout = stateLayout('/tmp/mmk-state');
  const bridge = planBridge('/tmp/mmk-state', []);

  it('isolates everything under the state folder, then appends the user flags', () => {
    const argv = dockerdArgv(layout, bridge, ['--debug'], { DOCKER_EXPERIMENTAL: '1' });
    const value = (flag: string) => argv[argv.indexOf(flag) + 1];
    expect(value('--data-root')).toBe('/tmp/mmk-state/root');
    expect(value('--exec-root')).toBe('/tmp/mmk-state/exec');
    expect(value('--pidfile')).toBe('/tmp/mmk-state/docker.pid');
    expect(value('--host')).toBe('unix:///tmp/mmk-state/docker.sock');
    expect(value('--config-file')).toBe('/tmp/mmk-state/daemon.json');
    expect(value('--bridge')).toMatch(/^mmk-[0-9a-f]{8}$/);
    expect(argv).toContain('--experimental');
    expect(argv.at(-1)).toBe('--debug');
    expect(dockerdArgv(layout, bridge, ['--config-file', '/x.json'], {}).filter((a) => a === '--config-file')).toHaveLength(1);
  });

  it('leads PATH with the bundle and lowers the minimum API version', () => {
    const env = dockerdEnv('/b/binary-daemon', { PATH: '/usr/bin:/bin', NOTIFY_SOCKET: '/run/systemd/notify' });
    expect(env.PATH?.split(':')[0]).toBe('/b/binary-daemon');
    expect(env.PATH?.split(':')).toContain('/usr/sbin');
    expect(env.DOCKER_MIN_API_VERSION).toBe('1.24');
    expect(env.NOTIFY_SOCKET).toBeUndefined();
  });
});

describe('bridge plan', () => {
  const procNetRoute = [
    'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  ].join('\n');

  it('reads /proc/net/route without the default route', () => {
    expect(readRoutes(procNetRoute)).toEqual([{ network: 0xc0000200, mask: 0xffffff00 }]);
  });

  it('is stable per state folder and skips a /16 that a route already covers', () => {
    const first = planBridge('/tmp/a', []);
    expect(planBridge('/tmp/a', [])).toEqual(first);
    expect(first.address).toMatch(/^10\.2[1-4]\d\.0\.1\/24$/);
    const [, second] = first.subnet.split('.');
    const taken = { network: ((10 << 24) | (Number(second) << 16)) >>> 0, mask: 0xffffff00 };
    expect(planBridge('/tmp/a', [taken]).subnet).not.toBe(first.subnet);
  });
});
