import { describe, expect, it } from 'vitest';
import { StartGate } from '../../engine/gate.js';
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

describe('StartGate', () => {
  const isOpen = async (gate: StartGate) => {
    let open = false;
    void gate.opened.then(() => (open = true));
    await new Promise((r) => setTimeout(r, 5));
    return open;
  };

  it('opens when every party has arrived', async () => {
    const gate = new StartGate(2, 60_000);
    gate.arrive();
    expect(await isOpen(gate)).toBe(false);
    gate.arrive();
    expect(await isOpen(gate)).toBe(true);
  });

  it('opens after the grace period when a party is slow', async () => {
    const gate = new StartGate(2, 20);
    gate.arrive();
    await new Promise((r) => setTimeout(r, 40));
    expect(await isOpen(gate)).toBe(true);
  });
});
