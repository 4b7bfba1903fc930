/**
 * Opens once `expected` parties have arrived, or after `graceMs`, whichever
 * comes first. Builds wait at it so that slots are handed out by priority
 * among all components rather than to whichever resolved its sources first;
 * the grace period keeps one slow download from holding everything back.
 */
export class StartGate {
  private arrived = 0;
  private open!: () => void;
  readonly opened: Promise<void>;

  constructor(
    private readonly expected: number,
    graceMs: number,
  ) {
    this.opened = new Promise((resolve) => (this.open = resolve));
    const timer = setTimeout(() => this.open(), graceMs);
    void this.opened.then(() => clearTimeout(timer));
    if (expected <= 0) this.open();
  }

  /** Each party calls this exactly once: when ready to build, or when it will not build at all. */
  arrive(): void {
    this.arrived += 1;
    if (this.arrived >= this.expected) this.open();
  }
}
