import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLIENT_BUNDLE } from '../../core/bundle-layout.js';
import { startRegistry, type TestRegistry } from '../../tasks/lib/loopback-registry.js';
import { projectRoot } from '../../tasks/paths.js';
import { runTask } from '../support/cli.js';
import { tempDir } from '../support/temp.js';

/** The default of an ARG in Dockerfile.dev: what the image promises. */
function dockerfileArg(name: string): string {
  const match = new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(readFileSync(join(projectRoot, 'Dockerfile.dev'), 'utf8'));
  if (!match?.[1]) throw new Error(`Dockerfile.dev has no ARG ${name}=…`);
  return match[1];
}

const GOARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', arm64: 'arm64' };

describe('the dev container (npm run shell)', () => {
  it('builds Dockerfile.dev on the dev daemon and runs a command in it with the pinned Go and Node', { timeout: 1_800_000 }, async () => {
    const result = await runTask('shell', ['sh', '-c', 'go version && node --version && test -x node_modules/.bin/tsx && echo deps-installed'], {
      DOCKER_HOST: `unix://${inject('devDaemonSocket')}`,
    });
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout).toBe(
      `go version go${dockerfileArg('GO_VERSION')} linux/${GOARCH[process.arch]}\nv${dockerfileArg('NODE_VERSION')}\ndeps-installed\n`,
    );
  });

  describe('with no engine running and none named', () => {
    const stateDir = join(inject('bundlesDir'), 'dev-daemon-shell-test');
    const devDaemon = (command: string) => runTask('dev-daemon', [command, '--state', stateDir]);
    afterAll(async () => {
      await devDaemon('stop');
      await rm(stateDir, { recursive: true, force: true });
    });

    it('starts the dev daemon itself, says so in one line, and leaves it for the next shell', { timeout: 1_800_000 }, async () => {
      await devDaemon('stop');
      await rm(stateDir, { recursive: true, force: true });
      const result = await runTask('shell', ['go', 'version'], { DOCKER_HOST: undefined, MOBY_DEV_DAEMON_STATE: stateDir });
      expect(result, result.stderr).toMatchObject({ code: 0 });
      expect(result.stdout).toBe(`go version go${dockerfileArg('GO_VERSION')} linux/${GOARCH[process.arch]}\n`);
      const said = result.stderr.split('\n').filter((line) => line.includes('started one'));
      expect(said).toEqual([expect.stringMatching(/^no DOCKER_HOST and no dev daemon: started one \(pid \d+, unix:\/\/.*npm run dev-daemon -- stop$/)]);
      expect(await devDaemon('status')).toMatchObject({ code: 0 });
      expect(await devDaemon('stop')).toMatchObject({ code: 0 });
      expect(await devDaemon('status')).toMatchObject({ code: 1 });
    });
  });

  /**
   * Machine A's engine pushes the dev image it built; an engine without it
   * (the image removed: a new machine) takes it from the registry with
   * docker load instead of building, as the very same image; a third shell
   * finds it current and builds nothing.
   */
  describe('on the shared cache registry', () => {
    let registry: TestRegistry;
    const dockerHost = () => `unix://${inject('devDaemonSocket')}`;
    const env = (extra: Record<string, string> = {}) => ({
      DOCKER_HOST: dockerHost(),
      ...registry.env({ MOBY_MAKE_CACHE_REGISTRY: `${registry.host}/team/dev`, ...extra }),
    });
    const engine = (args: string[]) =>
      execFileSync(join(inject('bundlesDir'), CLIENT_BUNDLE, 'docker'), args, { env: { ...process.env, DOCKER_HOST: dockerHost() }, encoding: 'utf8' }).trim();

    beforeAll(async () => {
      registry = await startRegistry(tempDir('dev-image-registry'));
    }, 300_000);
    afterAll(async () => registry?.stop());

    it('A pushes it, a machine without it loads the same image instead of building, and the next shell builds nothing', { timeout: 1_800_000 }, async () => {
      const pushed = await runTask('shell', ['true'], env({ MOBY_MAKE_CACHE_PUSH: '1' }));
      expect(pushed, pushed.stderr).toMatchObject({ code: 0 });
      const [, tag, digest] = new RegExp(`^(moby-make-dev:\\S+): pushed to ${registry.host}/team/dev@(sha256:[0-9a-f]{64})$`, 'm').exec(pushed.stderr) ?? [];
      expect(tag, pushed.stderr).toBeDefined();
      // The containerd image store names an image by its manifest's digest: the registry holds A's very manifest.
      expect(engine(['image', 'inspect', '--format', '{{.Id}}', tag as string])).toBe(digest);

      engine(['rmi', tag as string]);
      const pulled = await runTask('shell', ['go', 'version'], env());
      expect(pulled, pulled.stderr).toMatchObject({ code: 0 });
      expect(pulled.stderr).toMatch(new RegExp(`^${tag as string}: from cache ${registry.host}/team/dev@${digest as string} in `, 'm'));
      expect(pulled.stderr).not.toMatch(/building/);
      expect(pulled.stdout).toBe(`go version go${dockerfileArg('GO_VERSION')} linux/${GOARCH[process.arch]}\n`);
      expect(engine(['image', 'inspect', '--format', '{{.Id}}', tag as string])).toBe(digest);

      const again = await runTask('shell', ['true'], env());
      expect(again.stderr).toMatch(new RegExp(`^${tag as string}: up to date with Dockerfile.dev \\(key [0-9a-f]{32}\\)$`, 'm'));
      expect(again.stderr).not.toMatch(/from cache|building/);

      const listed = await runTask('cache', ['ls'], env());
      expect(listed.stdout).toMatch(new RegExp(`^dev-image/${(tag as string).split(':')[1] as string} .*${digest as string}$`, 'm'));
    });
  });
});
