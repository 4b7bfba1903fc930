import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { checkGoVersion, detectGo } from '../../core/go-toolchain.js';

const found = (raw: string, version: string) => ({ raw, version });

describe('the Go a component needs', () => {
  it("is this machine's go, read as its release numbers", async () => {
    const raw = execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
    const detected = await detectGo(process.env);
    expect(detected.raw).toBe(raw);
    expect(raw).toContain(`go${detected.version.replace(/\.0$/, '')}`);
    expect(detected.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('accepts the same or a newer release, comparing numbers rather than text', () => {
    expect(() => checkGoVersion('c', '1.26.3', found('go1.26.8', '1.26.8'))).not.toThrow();
    expect(() => checkGoVersion('c', '1.26', found('go1.26.0', '1.26.0'))).not.toThrow();
    expect(() => checkGoVersion('c', '1.9', found('go1.26.8', '1.26.8'))).not.toThrow();
    expect(() => checkGoVersion('c', '1.26rc1', found('go1.26.0', '1.26.0'))).not.toThrow();
    expect(() => checkGoVersion('c', undefined, found('go1.20', '1.20.0'))).not.toThrow();
  });

  it('refuses an older one, naming the component, what its go.mod needs and what was found', () => {
    expect(() => checkGoVersion('runc', '1.26.9', found('go1.26.8', '1.26.8'))).toThrow('runc: needs Go 1.26.9 (its go.mod), found go1.26.8');
    expect(() => checkGoVersion('runc', '1.27', found('go1.26.8', '1.26.8'))).toThrow(/needs Go 1\.27/);
    expect(() => checkGoVersion('runc', '1.10', found('go1.9.7', '1.9.7'))).toThrow(/needs Go 1\.10/);
  });
});
