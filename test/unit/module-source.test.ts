import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { matchesModulePrefix, resolveModule } from '../../builder/sources/module.js';
import { tempDir } from '../support/temp.js';

const context = (env: Record<string, string | undefined> = {}) => ({
  cacheDir: tempDir('cache'),
  workDir: tempDir('work'),
  log: new PassThrough(),
  signal: new AbortController().signal,
  env: { ...process.env, ...env },
});

const runc = { kind: 'module' as const, module: 'github.com/opencontainers/runc', version: 'v1.4.3' };
const runcSum = 'h1:/bq84roxG30xEICkFodXzMEVQFs7kzo4lCiZME1uKxI=';

describe('GOPRIVATE-style patterns', () => {
  it('match path prefixes element by element, as go does', () => {
    expect(matchesModulePrefix('github.com/opencontainers', 'github.com/opencontainers/runc')).toBe(true);
    expect(matchesModulePrefix('github.com/*', 'github.com/opencontainers/runc')).toBe(true);
    expect(matchesModulePrefix('*.com', 'github.com/opencontainers/runc')).toBe(true);
    expect(matchesModulePrefix('github.com/open', 'github.com/opencontainers/runc')).toBe(false);
    expect(matchesModulePrefix('gitlab.com', 'github.com/opencontainers/runc')).toBe(false);
  });
});

describe('module source', () => {
  it('resolves a pinned module through go, with its sum, commit and time', async () => {
    const resolved = await resolveModule({ ...runc, sum: runcSum, commit: 'bb14dabeb7185bb72c8c86735d090dcb20f36587' }, context());
    expect(resolved).toMatchObject({ kind: 'module', version: 'v1.4.3', identity: `github.com/opencontainers/runc@v1.4.3 ${runcSum}` });
    expect(resolved.commitTime?.toISOString()).toBe('2026-06-13T12:45:15.000Z');
  });

  it('refuses content that does not match the pinned sum', async () => {
    await expect(resolveModule({ ...runc, sum: 'h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' }, context())).rejects.toThrow(
      /has checksum h1:\/bq84.*but the component pins h1:AAAA/,
    );
  });

  it('refuses an unpinned module that the checksum database would not vouch for', async () => {
    await expect(resolveModule(runc, context({ GOSUMDB: 'off' }))).rejects.toThrow(/cannot be verified: GOSUMDB=off/);
    await expect(resolveModule(runc, context({ GONOSUMDB: 'github.com/opencontainers' }))).rejects.toThrow(
      /cannot be verified: GONOSUMDB contains github.com\/opencontainers/,
    );
    // A pinned sum still vouches for it.
    await expect(resolveModule({ ...runc, sum: runcSum }, context({ GOSUMDB: 'off' }))).resolves.toMatchObject({ version: 'v1.4.3' });
  });

  it("sees a setting that `go env -w` wrote since the last module asked go's settings", async () => {
    const settings = { GOENV: join(tempDir('goenv'), 'env') };
    await expect(resolveModule(runc, context(settings))).resolves.toMatchObject({ version: 'v1.4.3' });
    execFileSync('go', ['env', '-w', 'GONOSUMDB=github.com/opencontainers'], { env: { ...process.env, ...settings } });
    await expect(resolveModule(runc, context(settings))).rejects.toThrow(/cannot be verified: GONOSUMDB contains github.com\/opencontainers/);
  });

  it('refuses a module whose origin commit is not the pinned one (a moved tag)', async () => {
    const moby = { kind: 'module' as const, module: 'github.com/moby/moby/v2', version: 'v2.0.0-beta.21' };
    await expect(resolveModule({ ...moby, commit: 'c5b8ce9274b5c00cb1f8287c8e258edc1f01176d' }, context())).resolves.toMatchObject({
      commit: 'c5b8ce9274b5c00cb1f8287c8e258edc1f01176d',
    });
    await expect(resolveModule({ ...moby, commit: '0000000000000000000000000000000000000000' }, context())).rejects.toThrow(
      /comes from commit c5b8ce9274b5c00cb1f8287c8e258edc1f01176d, but the component pins 0000000/,
    );
  });

  it('says what go said when a version does not exist', async () => {
    await expect(resolveModule({ ...runc, version: 'v9.9.9' }, context())).rejects.toThrow(
      /cannot download github.com\/opencontainers\/runc@v9\.9\.9: .*v9\.9\.9/,
    );
  });
});
