import { describe, expect, it } from 'vitest';
import { dayOf, sparsePacks, trimGoCacheMap, type MapEntry } from '../../cache/go-cache-map.js';

describe("a Go cache map's trim", () => {
  const today = dayOf(new Date('2026-12-06T12:00:00Z'));
  const entries = new Map<string, MapEntry>([
    ['a1', { output: 'o1', size: 100, day: today }],
    // o2 is shared: an old action and a recent one map to it, so it stays.
    ['a2', { output: 'o2', size: 200, day: today - 40 }],
    ['a3', { output: 'o2', size: 200, day: today - 1 }],
    ['a4', { output: 'o3', size: 300, day: today - 31 }],
  ]);

  it('keeps the actions used since the cutoff and counts only the objects no kept action needs', () => {
    const trimmed = trimGoCacheMap(entries, new Date('2026-11-06T12:00:00Z'));
    expect([...trimmed.kept.keys()]).toEqual(['a1', 'a3']);
    expect(trimmed.removed).toBe(2);
    expect(trimmed.bytes).toBe(300);
  });

  it('frees a pack only once none of its objects is kept, and then all of its bytes', () => {
    const packA = { digest: 'a'.repeat(64), size: 1000 };
    const packB = { digest: 'b'.repeat(64), size: 700 };
    const packed = new Map<string, MapEntry>([
      // packA holds p1 (recent) and p2 (old): it stays whole.
      ['a1', { output: 'p1', size: 400, day: today, pack: packA, offset: 0 }],
      ['a2', { output: 'p2', size: 600, day: today - 90, pack: packA, offset: 400 }],
      // packB holds only old objects: freed, its whole size (padding and all).
      ['a3', { output: 'p3', size: 300, day: today - 90, pack: packB, offset: 0 }],
      ['a4', { output: 'p4', size: 300, day: today - 60, pack: packB, offset: 300 }],
      // An object of its own, as maps from before packs hold them.
      ['a5', { output: 'o5', size: 50, day: today - 90 }],
    ]);
    const trimmed = trimGoCacheMap(packed, new Date('2026-11-06T12:00:00Z'));
    expect([...trimmed.kept.keys()]).toEqual(['a1']);
    expect(trimmed.removed).toBe(4);
    expect(trimmed.bytes).toBe(700 + 50);
  });

  it('calls a pack sparse when the objects still mapped to it fill less than half of it, each object counted once', () => {
    const pack = { digest: 'c'.repeat(64), size: 1000 };
    const dense = { digest: 'd'.repeat(64), size: 100 };
    const entries = new Map<string, MapEntry>([
      // 300 + 150 (o2 is shared by two actions, counted once) of 1000 bytes: sparse.
      ['a1', { output: 'o1', size: 300, day: today, pack, offset: 0 }],
      ['a2', { output: 'o2', size: 150, day: today, pack, offset: 300 }],
      ['a3', { output: 'o2', size: 150, day: today, pack, offset: 300 }],
      // 60 of 100: kept as it is.
      ['a4', { output: 'o4', size: 60, day: today, pack: dense, offset: 0 }],
    ]);
    expect(sparsePacks(entries)).toEqual([pack]);
  });

  it('drops nothing when every action is recent enough', () => {
    const trimmed = trimGoCacheMap(entries, new Date(0));
    expect(trimmed.removed).toBe(0);
    expect(trimmed.bytes).toBe(0);
  });
});
