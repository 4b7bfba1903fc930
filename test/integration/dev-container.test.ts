import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
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
});
