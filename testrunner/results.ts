import { classifyFailure } from './classify.js';
import type { HostFacts } from './host-facts.js';
import { emptyCounts, type Counts, type Failure, type Outcome } from './events.js';

/** One line of `go test -json` (test2json); gotestsum's --jsonfile holds the same. */
export interface GoTestEvent {
  Action: string;
  Package?: string;
  Test?: string;
  Elapsed?: number;
  Output?: string;
}

export function parseGoTestLine(line: string): GoTestEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(line) as Partial<GoTestEvent>;
    return typeof parsed.Action === 'string' ? (parsed as GoTestEvent) : undefined;
  } catch {
    return undefined;
  }
}

/** How many output lines are kept per test; the summary shows the last few. */
const KEPT_LINES = 400;
export const SHOWN_LINES = 15;

interface TestState {
  output: string[];
  /** A panic and the lines after it, kept apart: the goroutine dump that follows would push it out of `output`. */
  panic?: string[];
  outcome?: Outcome;
}

/**
 * Tallies a test2json stream (one package, or many for a `go test` of
 * several) as it arrives: counts like gotestsum (subtests included), and for
 * each failure its output. A parent that failed only because a subtest did is
 * not listed again; a test still running when its package died (a timeout, a
 * panic) is a failure too, and so is a package that failed outside any test.
 */
export class PackageTally {
  readonly counts: Counts = emptyCounts();
  private readonly tests = new Map<string, TestState & { pkg: string; name: string }>();
  private readonly packages = new Map<string, TestState>();

  /**
   * `facts`: what the kernel can do, so a failure it explains is labelled so
   * (see classify.ts); `evidence`: more lines about a failed test from outside
   * its output (the logs of daemons it started), read only to classify.
   */
  constructor(
    private readonly dir: string,
    private readonly facts?: HostFacts,
    private readonly evidence: (test: string) => string[] = () => [],
  ) {}

  /** Returns the test that finished with this event, if one did. */
  add(event: GoTestEvent): { test: string; outcome: Outcome; seconds: number } | undefined {
    const pkg = this.pkg(event.Package ?? '');
    const test = event.Test;
    if (event.Action === 'output' && event.Output !== undefined) {
      keep(test ? this.state(event.Package ?? '', test) : pkg, event.Output);
      return undefined;
    }
    if (event.Action !== 'pass' && event.Action !== 'fail' && event.Action !== 'skip') {
      if (test && event.Action === 'run') this.rerun(this.state(event.Package ?? '', test));
      return undefined;
    }
    if (!test) {
      pkg.outcome = event.Action;
      return undefined;
    }
    const state = this.state(event.Package ?? '', test);
    if (state.outcome) return undefined;
    state.outcome = event.Action;
    this.count(event.Action);
    return { test: this.displayName(state), outcome: event.Action, seconds: event.Elapsed ?? 0 };
  }

  /** Ends the stream: tests that never finished in a failed package count as failed. */
  finish(exitCode: number): Failure[] {
    const failedPackage = (name: string) => this.packages.get(name)?.outcome === 'fail' || (exitCode !== 0 && this.packages.size <= 1);
    const unfinished = new Set<TestState>();
    for (const state of this.tests.values()) {
      if (state.outcome || !failedPackage(state.pkg)) continue;
      state.outcome = 'fail';
      unfinished.add(state);
      this.count('fail');
    }
    // The timeout's panic lands in one test's output; every test it cut short failed of it.
    const timedOut = [...this.tests.values(), ...this.packages.values()].some((state) => state.panic?.[0]?.startsWith('panic: test timed out'));
    const failed = [...this.tests.values()].filter((state) => state.outcome === 'fail');
    const failures = failed
      .filter((state) => !failed.some((other) => other.pkg === state.pkg && other.name.startsWith(`${state.name}/`)))
      .map((state) => {
        const failure = this.failure(this.displayName(state), state);
        if (unfinished.has(state) && timedOut) failure.cause = 'timed out (TIMEOUT)';
        return failure;
      });
    for (const [name, pkg] of this.packages) {
      if (pkg.outcome === 'fail' && !failed.some((state) => state.pkg === name))
        failures.push(this.failure(this.packages.size > 1 ? `${name} (package)` : '(package)', pkg));
    }
    if (exitCode !== 0 && failures.length === 0) {
      const all = [...this.packages.values()];
      const panic = all.find((pkg) => pkg.panic)?.panic;
      failures.push(this.failure('(package)', { output: all.flatMap((pkg) => pkg.output), ...(panic ? { panic } : {}) }));
    }
    return failures;
  }

  private displayName(state: { pkg: string; name: string }): string {
    return this.packages.size > 1 ? `${state.pkg} ${state.name}` : state.name;
  }

  private failure(test: string, state: Pick<TestState, 'output' | 'panic'>): Failure {
    const lines = state.output.filter((line) => !/^(?:=== (?:RUN|PAUSE|CONT|NAME)|--- (?:FAIL|PASS|SKIP):)/.test(line.trimStart()));
    // A panic's message says what happened; the goroutine dump after it rarely does.
    const shown = state.panic ?? lines.slice(-SHOWN_LINES);
    const cause = classifyFailure([...lines, ...(state.panic ?? []), ...this.evidence(test)], this.facts, { dir: this.dir, test });
    return { dir: this.dir, test, lines: shown, ...(cause ? { cause } : {}) };
  }

  /** gotestsum --rerun-fails runs a failed test again: the last run is its result. */
  private rerun(state: TestState): void {
    if (!state.outcome) return;
    this.count(state.outcome, -1);
    delete state.outcome;
    state.output.length = 0;
  }

  private count(outcome: Outcome, by = 1): void {
    if (outcome === 'pass') this.counts.passed += by;
    else if (outcome === 'fail') this.counts.failed += by;
    else this.counts.skipped += by;
  }

  private pkg(name: string): TestState {
    let pkg = this.packages.get(name);
    if (!pkg) {
      pkg = { output: [] };
      this.packages.set(name, pkg);
    }
    return pkg;
  }

  private state(pkg: string, name: string): TestState & { pkg: string; name: string } {
    const key = `${pkg}\0${name}`;
    let state = this.tests.get(key);
    if (!state) {
      state = { output: [], pkg, name };
      this.tests.set(key, state);
    }
    return state;
  }
}

function keep(state: TestState, output: string): void {
  const line = output.replace(/\n$/, '');
  if (line.startsWith('panic: ') && !state.panic) state.panic = [];
  if (state.panic && state.panic.length < SHOWN_LINES) state.panic.push(line);
  state.output.push(line);
  if (state.output.length > KEPT_LINES) state.output.splice(0, state.output.length - KEPT_LINES);
}
