import type { Env } from '../core/env.js';
import type { Listener } from '../core/events.js';
import type { TestRunEvent } from './events.js';
import type { DaemonSource } from '../core/daemon-source.js';
import type { GoSetup } from './toolchain.js';

/** What preparing either suite starts from: the source under test, Go, and where things are. */
export interface SuiteContext {
  source: DaemonSource;
  go: GoSetup;
  env: Env;
  bundlesDir: string;
  bundleDir: string;
  cacheDir: string;
  /** bundles/test-integration (moby's DEST) or bundles/test-unit (where hack/test/unit writes its reports). */
  resultsDir: string;
  onEvent: Listener<TestRunEvent>;
}
