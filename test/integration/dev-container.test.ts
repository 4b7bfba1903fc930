import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../tasks/paths.js';
import { runTask } from '../support/cli.js';

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
});
