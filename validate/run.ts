import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DaemonSource } from '../core/daemon-source.js';
import type { Env } from '../core/env.js';
import { UsageError, UserError } from '../core/errors.js';
import type { Listener } from '../core/events.js';
import { checkGoVersion, detectGo, requiredGo } from '../core/go-toolchain.js';
import { installGoTool } from '../core/go-tools.js';
import { ensureRequirements, installPolicy, type Requirement } from '../core/requirements.js';
import { dco, prGhReferences } from './commit-checks.js';
import type { Check, CheckContext } from './context.js';
import { deprecateIntegrationCli, moduleReplace, pkgImports } from './diff-checks.js';
import type { ValidateEvent } from './events.js';
import { golangciLint } from './golangci-lint.js';
import { validateJunit } from './junit.js';
import { CHECKS, NEEDS_BASE, type CheckName, type CheckResult } from './model.js';
import { shfmtCheck } from './shfmt.js';
import { resolveBase, validateTree, type PinnedRelease } from './tree.js';
import { vendor } from './vendor.js';
import { eachInLanes } from '../core/lanes.js';

const IMPLEMENTATIONS: Record<CheckName, Check> = {
  'pkg-imports': pkgImports,
  'deprecate-integration-cli': deprecateIntegrationCli,
  'golangci-lint': golangciLint,
  shfmt: shfmtCheck,
  vendor,
  'module-replace': moduleReplace,
  dco,
  'pr-gh-references': prGhReferences,
};

/** The long checks start first, so the short ones fill the other lane around them. */
const LONGEST_FIRST: readonly CheckName[] = ['golangci-lint', 'vendor'];

/** Two lanes: the machine this is sized for has two cores, and golangci-lint alone keeps one busy. */
const LANES = 2;

const NEEDS: Requirement[] = [
  { kind: 'command', command: 'git', aptPackage: 'git', why: "the diff-based checks read the checkout's history" },
  { kind: 'command', command: 'diff', aptPackage: 'diffutils', why: 'the vendor check compares go.mod and go.sum with what go mod tidy writes' },
];

export interface ValidateRequest {
  source: DaemonSource;
  checks: readonly CheckName[];
  /** --base: the commit the diff-based checks compare with. */
  base?: string;
  /** The moby release the build pins: the base when none is named and the checkout descends from it. */
  pinnedRelease: PinnedRelease;
  fix: boolean;
  env: Env;
  cacheDir: string;
  /** bundles/validate: JUnit, the JSON report, the tools' logs. */
  resultsDir: string;
  signal: AbortSignal;
  onEvent: Listener<ValidateEvent>;
}

/** Runs the asked checks on the tree the bundle's dockerd was built from; results in CHECKS order, also as JUnit and JSON in resultsDir. */
export async function runValidate(request: ValidateRequest): Promise<CheckResult[]> {
  const { source, env, onEvent, signal } = request;
  const began = performance.now();
  const tree = validateTree(source);
  if (request.fix && !tree.writable) {
    throw new UsageError(
      `--fix writes into the tree, and ${tree.dir} is the ${tree.kind} source of the bundle, which stays as it was fetched`,
      'Fix a DAEMON_SRC checkout of yours: set DAEMON_SRC and build it with npm run make.',
    );
  }
  const checks = CHECKS.filter((check) => request.checks.includes(check));
  await ensureRequirements(
    NEEDS,
    installPolicy(env, (packages) => onEvent({ type: 'validate-step', text: `installing ${packages.join(' ')}` })),
  );
  const base = checks.some((check) => NEEDS_BASE.has(check)) ? await resolveBase(tree, request.base, request.pinnedRelease, env) : undefined;
  onEvent({
    type: 'validate-tree',
    kind: tree.kind,
    version: tree.version,
    dir: tree.dir,
    ...(base ? { base: { commit: base.commit, ref: base.ref, how: base.how } } : {}),
  });
  checkGoVersion('moby validate', await requiredGo(tree.dir), await detectGo(env));

  await mkdir(request.resultsDir, { recursive: true });

  onEvent({ type: 'validate-planned', checks });
  const installs = new Map<string, Promise<string>>();
  const contextFor = (check: CheckName): CheckContext => ({
    tree,
    base,
    env,
    installTool: (tool) => {
      const key = `${tool.pkg}@${tool.version}`;
      let install = installs.get(key);
      if (!install) {
        onEvent({ type: 'check-progress', check, text: `${tool.binary} ${tool.version} (built once from the Go module proxy)` });
        install = installGoTool(tool, join(request.cacheDir, 'tools'), env, signal);
        installs.set(key, install);
      }
      return install;
    },
    cacheDir: request.cacheDir,
    resultsDir: request.resultsDir,
    fix: request.fix,
    signal,
    progress: (text) => onEvent({ type: 'check-progress', check, text }),
    planFix: (files) => onEvent({ type: 'fix-planned', check, files: [...files] }),
  });
  const queue = [...checks].sort((a, b) => rank(a) - rank(b));
  const results = new Map<CheckName, CheckResult>();
  await eachInLanes(queue, LANES, async (check) => {
    onEvent({ type: 'check-started', check });
    const result = await runCheck(check, contextFor(check));
    results.set(check, result);
    onEvent({ type: 'check-finished', result });
  });

  const ordered = checks.flatMap((check) => results.get(check) ?? []);
  const junit = join(request.resultsDir, 'junit-report.xml');
  const report = join(request.resultsDir, 'report.json');
  await writeFile(junit, validateJunit(ordered));
  await writeFile(report, `${JSON.stringify({ tree: { dir: tree.dir, kind: tree.kind, version: tree.version }, base, results: ordered }, null, 2)}\n`);
  onEvent({ type: 'validate-summary', results: ordered, seconds: (performance.now() - began) / 1000, junit, report });
  return ordered;
}

function rank(check: CheckName): number {
  const index = LONGEST_FIRST.indexOf(check);
  return index === -1 ? LONGEST_FIRST.length + CHECKS.indexOf(check) : index;
}

/** A check's own failure to run (a tool's error) fails that check only; an interrupt or a bug ends the command. */
async function runCheck(check: CheckName, context: CheckContext): Promise<CheckResult> {
  const began = performance.now();
  const seconds = () => (performance.now() - began) / 1000;
  try {
    const { findings, notes } = await IMPLEMENTATIONS[check](context);
    return { check, outcome: findings.length === 0 ? 'passed' : 'failed', findings, notes, seconds: seconds() };
  } catch (error) {
    if (context.signal.aborted || !(error instanceof UserError)) throw error;
    return { check, outcome: 'failed', findings: [], notes: error.hint ? [error.hint] : [], error: error.message, seconds: seconds() };
  }
}
