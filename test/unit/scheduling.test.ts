import { describe, expect, it } from 'vitest';
import { StartGate } from '../../builder/scheduling/gate.js';
import { Semaphore } from '../../builder/scheduling/semaphore.js';

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

  it('created paused, hands out its first slots by priority, not by who asked first', async () => {
    const slots = new Semaphore(2, { paused: true });
    const order: string[] = [];
    const quick = slots.acquire(5).then((r) => order.push('quick') && r);
    const tiny = slots.acquire(1).then((r) => order.push('tiny') && r);
    const dockerd = slots.acquire(150).then((r) => order.push('dockerd') && r);
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual([]);
    slots.resume();
    await Promise.all([quick, dockerd]);
    expect(order).toEqual(['dockerd', 'quick']);
    void tiny;
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
  it('opens when every party has arrived', () => {
    let opened = 0;
    const gate = new StartGate(2, 60_000, () => (opened += 1));
    gate.arrive();
    expect(opened).toBe(0);
    gate.arrive();
    gate.arrive();
    expect(opened).toBe(1);
  });

  it('opens after the grace period when a party is slow', async () => {
    let opened = 0;
    const gate = new StartGate(2, 20, () => (opened += 1));
    gate.arrive();
    await new Promise((r) => setTimeout(r, 40));
    expect(opened).toBe(1);
  });
});
