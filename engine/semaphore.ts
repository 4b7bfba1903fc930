/**
 * At most `size` holders at once. Waiters with a higher priority go first, so
 * the longest builds start early and the last minutes are not spent on one
 * long build while the other cores idle.
 */
export class Semaphore {
  private available: number;
  private readonly waiting: Array<{ priority: number; wake: () => void }> = [];

  constructor(size: number) {
    this.available = size;
  }

  async acquire(priority = 0): Promise<() => void> {
    if (this.available > 0) {
      this.available -= 1;
    } else {
      await new Promise<void>((wake) => {
        const at = this.waiting.findIndex((w) => w.priority < priority);
        this.waiting.splice(at === -1 ? this.waiting.length : at, 0, { priority, wake });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next.wake();
      else this.available += 1;
    };
  }
}
