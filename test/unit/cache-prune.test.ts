import { describe, expect, it } from 'vitest';
import { entriesToPrune, type CacheEntry } from '../../cache/inventory.js';

const day = (iso: string) => new Date(`${iso}T00:00:00Z`);
let digests = 0;

function entry(component: string, fingerprint: string, times: { created?: string; used?: string; digest?: string }): CacheEntry {
  digests += 1;
  return {
    component,
    fingerprint,
    tag: `${component}-${fingerprint}`,
    digest: times.digest ?? `sha256:${String(digests).padStart(64, '0')}`,
    bytes: 1,
    created: times.created ? new Date(times.created) : undefined,
    used: times.used ? day(times.used) : undefined,
    usesName: component,
    signed: false,
  };
}

const cutoff = new Date('2026-11-07T12:00:00Z');
const names = (entries: CacheEntry[]) => entriesToPrune(entries, cutoff).map((e) => `${e.component}/${e.fingerprint}`);

describe('which entries cache prune removes', () => {
  it('those pushed before the cutoff, but never a component newest', () => {
    const entries = [
      entry('daemon', 'a', { created: '2026-09-01T00:00:00Z' }),
      entry('daemon', 'b', { created: '2026-10-01T00:00:00Z' }),
      entry('runc', 'c', { created: '2026-09-01T00:00:00Z' }),
    ];
    expect(names(entries)).toEqual(['daemon/a']);
  });

  it('not one a pushing runner used on the cutoff day or later, however old its push', () => {
    const entries = [
      entry('daemon', 'branch', { created: '2026-06-01T00:00:00Z', used: '2026-11-07' }),
      entry('daemon', 'stale', { created: '2026-06-01T00:00:00Z', used: '2026-11-06' }),
      entry('daemon', 'main', { created: '2026-12-01T00:00:00Z' }),
    ];
    expect(names(entries)).toEqual(['daemon/stale']);
  });

  it('ages an image without a push time by its uses, keeps the one used last, and leaves one no runner recorded', () => {
    const entries = [
      entry('frozen-image/debian', 'old', { used: '2026-01-01' }),
      entry('frozen-image/debian', 'newer', { used: '2026-02-01' }),
      entry('frozen-image/busybox', 'unrecorded', {}),
      entry('frozen-image/busybox', 'also', {}),
    ];
    expect(names(entries)).toEqual(['frozen-image/debian/old']);
  });

  it('not one whose manifest a kept entry shares: deleting it would delete both', () => {
    const shared = `sha256:${'f'.repeat(64)}`;
    const entries = [
      entry('frozen-image/debian', 'old', { used: '2026-01-01', digest: shared }),
      entry('frozen-image/debian', 'new', { used: '2026-12-01', digest: shared }),
    ];
    expect(names(entries)).toEqual([]);
  });
});
