import type { Event } from '../core/events.js';

export type Outcome = 'pass' | 'fail' | 'skip';

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

export interface Failure {
  /** The package directory as moby names it, e.g. ./integration/container. */
  dir: string;
  /** The test's full name, or `(package)` when the package failed outside any test (TestMain, a panic, a timeout). */
  test: string;
  /** Its last output lines. */
  lines: string[];
  /** A recognised cause outside the daemon, e.g. "needs a registry: Docker Hub unreachable". */
  cause?: string;
}

export interface PackageResult {
  dir: string;
  counts: Counts;
  seconds: number;
  /** gotestsum's exit code: non-zero when a test or the package failed. */
  exitCode: number;
  failures: Failure[];
  jsonFile: string;
  junitFile: string;
}

/** Everything `npm run test-integration` and `npm run test-unit` report, as typed events. */
export type TestRunEvent =
  | { type: 'source'; kind: string; version: string; dir: string }
  | { type: 'step'; text: string }
  | { type: 'installing'; packages: readonly string[] }
  /** The test daemon answers; the inside waits for the outside to prepare it (frozen images) before running tests. */
  | { type: 'daemon-ready'; socket: string; seconds: number; logFile: string }
  | { type: 'compiled'; dir: string; seconds: number; index: number; total: number }
  /** `job`: the --jobs lane the package runs in, when there are several. */
  | { type: 'package-started'; dir: string; index: number; total: number; job?: number }
  /** Under DELVE_PORT: the package's test binary waits, stopped, for a delve client. */
  | { type: 'debugger-waiting'; dir: string; listen: string; socket: string; job?: number }
  | { type: 'test-finished'; dir: string; test: string; outcome: Outcome; seconds: number; counts: Counts; elapsed: number; job?: number }
  | { type: 'package-finished'; result: PackageResult; job?: number }
  /** --jobs: these lanes run side by side from now on. */
  | { type: 'jobs-started'; jobs: number[] }
  | { type: 'suite-skipped'; suite: string; reason: string }
  /** Probed in the tests' namespace; failures these explain are labelled with them. */
  | { type: 'kernel-differences'; differences: string[] }
  | { type: 'summary'; packages: PackageResult[]; notes: string[]; seconds: number; resultsDir: string };

export function emptyCounts(): Counts {
  return { passed: 0, failed: 0, skipped: 0 };
}

export function addCounts(a: Counts, b: Counts): Counts {
  return { passed: a.passed + b.passed, failed: a.failed + b.failed, skipped: a.skipped + b.skipped };
}

/** A compile-time check that TestRunEvent stays an Event. */
export type CheckedEvent = TestRunEvent extends Event ? TestRunEvent : never;
