/**
 * Calls `open` once `expected` parties have arrived, or after `graceMs`,
 * whichever comes first. The build slots stay paused until then, so they are
 * handed out by priority among all components rather than to whichever
 * resolved its sources first; the grace period keeps one slow download from
 * holding everything back.
 */
export class StartGate {
  private arrived = 0;
  private isOpen = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly expected: number,
    graceMs: number,
    private readonly onOpen: () => void,
  ) {
    this.timer = setTimeout(() => this.open(), graceMs);
    if (expected <= 0) this.open();
  }

  /** Each party calls this exactly once: when ready to build, or when it will not build at all. */
  arrive(): void {
    this.arrived += 1;
    if (this.arrived >= this.expected) this.open();
  }

  private open(): void {
    if (this.isOpen) return;
    this.isOpen = true;
    clearTimeout(this.timer);
    this.onOpen();
  }
}
