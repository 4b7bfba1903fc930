import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../cache/registry.js';

describe('how long the registry client waits before asking again', () => {
  it('backs off 0.25, 0.5 and 1 s when the registry names no wait', () => {
    expect([0, 1, 2].map((retry) => retryDelayMs(undefined, retry))).toEqual([250, 500, 1000]);
  });

  it('waits the seconds Retry-After names, up to 5 s', () => {
    expect(retryDelayMs('2', 0)).toBe(2000);
    expect(retryDelayMs(' 0 ', 1)).toBe(0);
    expect(retryDelayMs('5', 0)).toBe(5000);
  });

  it('waits until the HTTP date Retry-After names, and not at all for one past', () => {
    const now = Date.parse('2026-12-07T10:00:00Z');
    expect(retryDelayMs('Mon, 07 Dec 2026 10:00:03 GMT', 0, now)).toBe(3000);
    expect(retryDelayMs('Mon, 07 Dec 2026 09:59:00 GMT', 0, now)).toBe(0);
  });

  it('does not wait for a longer wait than 5 s: the call fails and the run builds locally', () => {
    expect(retryDelayMs('6', 0)).toBeUndefined();
    expect(retryDelayMs('120', 2)).toBeUndefined();
    expect(retryDelayMs('Mon, 07 Dec 2026 11:00:00 GMT', 0, Date.parse('2026-12-07T10:00:00Z'))).toBeUndefined();
  });

  it('backs off as if no wait were named when Retry-After is not a number or a date', () => {
    expect(retryDelayMs('soon', 1)).toBe(500);
  });
});
