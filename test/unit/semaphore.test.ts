import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../engine/semaphore.js';

describe('Semaphore', () => {
  it('admits at most its size and wakes the highest priority waiter first', async () => {
    const slots = new Semaphore(1);
    const order: string[] = [];
    const release = await slots.acquire();
    const waiters = [
      slots.acquire(1).then((r) => (order.push('short'), r())),
      slots.acquire(100).then((r) => (order.push('long'), r())),
      slots.acquire(10).then((r) => (order.push('medium'), r())),
    ];
    expect(order).toEqual([]);
    release();
    await Promise.all(waiters);
    expect(order).toEqual(['long', 'medium', 'short']);
  });

  it('ignores a second release of the same slot', async () => {
    const slots = new Semaphore(1);
    const release = await slots.acquire();
    release();
    release();
    await slots.acquire();
    let admitted = false;
    void slots.acquire().then(() => (admitted = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(admitted).toBe(false);
  });
});
