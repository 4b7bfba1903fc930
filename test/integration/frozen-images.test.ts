import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { recorder } from '../../core/events.js';
import { readManifest } from '../../core/manifest.js';
import { ensureFrozenImages, FROZEN_IMAGE_EXTRAS, FROZEN_IMAGES, RECIPES, type FrozenImageEvent } from '../../testrunner/frozen-images/index.js';
import { defaultCacheDir } from '../../tasks/paths.js';
import { devDaemon, runToCompletion } from './support/containers.js';

const ensure = (onEvent: (event: FrozenImageEvent) => void) =>
  ensureFrozenImages({ docker: devDaemon(), cacheDir: defaultCacheDir(process.env), env: process.env, signal: new AbortController().signal, onEvent });

/** moby's frozenImages list, read from the tree the bundled dockerd was built from. */
function mobyFrozenImages(): string[] {
  const source = readManifest(join(inject('bundlesDir'), 'binary-daemon')).components.daemon?.source;
  if (!source) throw new Error('the bundle manifest has no daemon component');
  const download = execFileSync('go', ['mod', 'download', '-json', `github.com/moby/moby/v2@${source.version}`], { encoding: 'utf8' });
  const { Dir } = JSON.parse(download) as { Dir: string };
  const protect = readFileSync(join(Dir, 'internal/testutil/environment/protect.go'), 'utf8');
  const list = /var frozenImages = \[\]string\{([^}]*)\}/.exec(protect)?.[1] ?? '';
  return [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1] as string);
}

describe('frozen images on the dev daemon', () => {
  const first = recorder<FrozenImageEvent>();
  beforeAll(() => ensure(first.onEvent));

  it("are moby's own list", () => {
    expect([...FROZEN_IMAGES].sort()).toEqual(mobyFrozenImages().sort());
  });

  it('are all in the daemon with the platform their tag says', async () => {
    const docker = devDaemon();
    const expected: Record<string, string> = { 'hello-world:arm64': 'arm64', 'arm32v7/hello-world:latest': 'arm' };
    for (const tag of [...FROZEN_IMAGES, ...FROZEN_IMAGE_EXTRAS]) {
      const image = await docker.getImage(tag).inspect();
      expect([tag, image.Os, image.Architecture]).toEqual([tag, 'linux', expected[tag] ?? 'amd64']);
    }
  });

  it('are not made or loaded again once they are there', async () => {
    const again = recorder<FrozenImageEvent>();
    await ensure(again.onEvent);
    expect(again.events.filter((e) => e.type !== 'cached' && e.type !== 'present')).toEqual([]);
    // One per recipe: hello-world:frozen and :amd64 are one image.
    expect(again.events.filter((e) => e.type === 'present').map((e) => e.image)).toEqual(RECIPES.map((r) => r.tags[0]));
  });

  it("busybox:latest has the official image's users, groups and adduser", async () => {
    const script = 'id daemon && id nobody && adduser -D -u 2375 testuser && addgroup testuser staff && id testuser && ls -ld /tmp';
    const result = await runToCompletion(devDaemon(), ['sh', '-c', script], { Image: 'busybox:latest' });
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')).toEqual([
      'uid=1(daemon) gid=1(daemon) groups=1(daemon)',
      'uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)',
      'uid=2375(testuser) gid=2375(testuser) groups=2375(testuser),50(staff)',
      expect.stringMatching(/^drwxrwxrwt .* \/tmp$/),
      '',
    ]);
    expect(result.exitCode).toBe(0);
  });

  it('busybox:glibc runs a glibc busybox with its libraries', async () => {
    const result = await runToCompletion(devDaemon(), ['sh', '-c', 'id daemon && getconf _NPROCESSORS_ONLN && ls /lib'], { Image: 'busybox:glibc' });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^uid=1\(daemon\) gid=1\(daemon\)/);
    expect(result.stdout).toMatch(/^\d+$/m);
    expect(result.stdout).toContain('libc.so.6');
  });

  it('hello-world:frozen says hello', async () => {
    const result = await runToCompletion(devDaemon(), [], { Image: 'hello-world:frozen', Cmd: undefined });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('\nHello from Docker!\n');
  });

  it('debian:trixie-slim is Debian trixie', async () => {
    const result = await runToCompletion(devDaemon(), ['cat', '/etc/os-release'], { Image: 'debian:trixie-slim' });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('VERSION_CODENAME=trixie\n');
  });
});
