import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostDebianRelease } from '../../core/debian-base-image.js';
import { runArgs, type DevContainer } from '../../devcontainer/dev-image.js';
import { tempDir } from '../support/temp.js';

describe('the dev container', () => {
  it("reads the host's Debian release from os-release", () => {
    const file = join(tempDir('os-release'), 'os-release');
    writeFileSync(file, 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n');
    expect(hostDebianRelease(file)).toBe('bookworm');
    expect(hostDebianRelease(join(tempDir('none'), 'missing'))).toBeUndefined();
  });

  it('runs privileged with the checkout at its own path, caches in volumes, the CA bundle read-only and the host fetch settings', () => {
    const container: DevContainer = {
      projectRoot: '/src/moby-make',
      docker: '/b/docker',
      dockerHost: 'unix:///s/docker.sock',
      release: 'bookworm',
      env: {},
      onEvent: () => undefined,
      install: { allowed: false, allowMultiarch: false, env: {}, onInstall: () => undefined },
    };
    const argv = runArgs(container, {
      tag: 'moby-make-dev:bookworm',
      command: ['go', 'version'],
      tty: false,
      caBundle: '/etc/ssl/certs/ca-certificates.crt',
      passEnv: { GOPROXY: 'https://proxy.example,direct', GONOSUMDB: '' },
    });
    expect(argv.slice(0, 4)).toEqual(['run', '--rm', '-i', '--privileged']);
    expect(argv.join(' ')).toContain('-v /src/moby-make:/src/moby-make -w /src/moby-make');
    expect(argv.join(' ')).toContain('-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro');
    expect(argv.join(' ')).toContain('-v moby-make-dev-gomod:/root/go/pkg/mod');
    expect(argv.join(' ')).toContain('-v moby-make-dev-node-modules-bookworm:/src/moby-make/node_modules');
    expect(argv).toContain('GOPROXY=https://proxy.example,direct');
    expect(argv.some((arg) => arg.startsWith('GONOSUMDB'))).toBe(false);
    expect(argv.slice(-3)).toEqual(['moby-make-dev:bookworm', 'go', 'version']);
  });
});
