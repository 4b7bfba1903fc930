import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copySources, devImageKey } from '../../devcontainer/dev-image-remote.js';
import { tempDir } from '../support/temp.js';

describe("the dev image's cache key", () => {
  it("reads what Dockerfile.dev's COPY and ADD lines copy, flags and continuations included", () => {
    const dockerfile = ['FROM debian', 'COPY --chmod=755 a.sh /usr/bin/a', 'ADD b.txt \\', '    c/ /opt/', 'RUN true'].join('\n');
    expect(copySources(dockerfile)).toEqual(['a.sh', 'b.txt', 'c/']);
  });

  it('refuses a wildcard, whose files the key could not name', () => {
    expect(() => copySources('COPY *.sh /usr/bin/')).toThrow(/needs plain paths/);
  });

  it('changes with the Dockerfile, with a copied file and with the release, and with nothing else', async () => {
    const root = tempDir('dev-image-key');
    mkdirSync(join(root, 'devcontainer'));
    writeFileSync(join(root, 'Dockerfile.dev'), 'FROM debian\nCOPY devcontainer/entrypoint.sh /e\n');
    writeFileSync(join(root, 'devcontainer', 'entrypoint.sh'), 'echo one\n');
    const first = await devImageKey(root, 'bookworm');
    writeFileSync(join(root, 'unrelated.txt'), 'not copied\n');
    expect(await devImageKey(root, 'bookworm')).toBe(first);
    expect(await devImageKey(root, 'trixie')).not.toBe(first);
    writeFileSync(join(root, 'devcontainer', 'entrypoint.sh'), 'echo two\n');
    const edited = await devImageKey(root, 'bookworm');
    expect(edited).not.toBe(first);
    writeFileSync(join(root, 'Dockerfile.dev'), 'FROM debian\nCOPY devcontainer/entrypoint.sh /e\nRUN true\n');
    expect(await devImageKey(root, 'bookworm')).not.toBe(edited);
  });
});
