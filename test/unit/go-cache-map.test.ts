import { describe, expect, it } from 'vitest';
import { dayOf, trimGoCacheMap, type MapEntry } from '../../cache/go-cache-map.js';

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

  it('drops nothing when every action is recent enough', () => {
    const trimmed = trimGoCacheMap(entries, new Date(0));
    expect(trimmed.removed).toBe(0);
    expect(trimmed.bytes).toBe(0);
  });
});
