/**
 * At most `size` holders at once. Waiters with a higher priority go first, so
 * the longest builds start early and the last minutes are not spent on one
 * long build while the other cores idle. A semaphore created paused queues
 * every request until `resume()`, so the first slots also go by priority
 * rather than to whoever asked first.
 */
export class Semaphore {
  private available: number;
  private paused: boolean;
  private readonly waiting: Array<{ priority: number; wake: () => void }> = [];

  constructor(size: number, options: { paused?: boolean } = {}) {
    this.available = size;
    this.paused = options.paused ?? false;
  }

  acquire(priority = 0): Promise<() => void> {
    return new Promise((resolve) => {
      const at = this.waiting.findIndex((w) => w.priority < priority);
      this.waiting.splice(at === -1 ? this.waiting.length : at, 0, { priority, wake: () => resolve(this.releaser()) });
      this.dispatch();
    });
  }

  resume(): void {
    this.paused = false;
    this.dispatch();
  }

  private dispatch(): void {
    while (!this.paused && this.available > 0 && this.waiting.length > 0) {
      this.available -= 1;
      this.waiting.shift()?.wake();
    }
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.available += 1;
      this.dispatch();
    };
  }
}
