import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingPackages, onPath } from '../../core/requirements.js';
import { tempDir } from '../support/temp.js';

describe('prerequisites on PATH', () => {
  const dir = tempDir('requirements');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'tool'), '#!/bin/sh\n');
  chmodSync(join(bin, 'tool'), 0o755);
  writeFileSync(join(bin, 'data'), 'not a program');
  mkdirSync(join(bin, 'folder'));
  const env = { PATH: `${join(dir, 'empty')}:${bin}` };

  it('finds an executable file in any folder of PATH, as command -v does', () => {
    expect(onPath('tool', env)).toBe(true);
    expect(onPath('data', env)).toBe(false);
    expect(onPath('folder', env)).toBe(false);
    expect(onPath('tool', { PATH: join(dir, 'empty') })).toBe(false);
  });

  it('names the package of what is missing', () => {
    const needs = [
      { kind: 'command' as const, command: 'tool', aptPackage: 'tool-package', why: 'present' },
      { kind: 'command' as const, command: 'absent', aptPackage: 'absent-package', why: 'testing' },
    ];
    expect(missingPackages(needs, env)).toEqual({ packages: ['absent-package'], reasons: ['absent-package (testing)'] });
  });
});
