import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stepsFor } from './builders/index.js';
import { OUT, SRC, WORK, extraSourcePlaceholder, runSteps, type Step, type StepPaths } from './builders/steps.js';
import { componentIntact, publish, type BuiltComponent } from './bundle.js';
import { bundlePaths, type BundlePaths } from '../core/bundle-layout.js';
import { componentContext, loadComponents, selectComponents } from './components.js';
import { InterruptedError, UserError, describeError } from '../core/errors.js';
import { sha256Text } from '../core/hashing.js';
import { acquireLock } from './scheduling/lock.js';
import { lastLines } from '../core/log-tail.js';
import { readManifest, type Manifest, type SourceRecord } from '../core/manifest.js';
import { outputsOf, type ComponentSpec, type ResolvedSource, type StampContext } from './model.js';
import { StartGate } from './scheduling/gate.js';
import { Semaphore } from './scheduling/semaphore.js';
import { readTimings, writeTimings, type Timings } from './scheduling/timings.js';
import { resolveFirst, selectCandidates } from './sources/index.js';
import { checkGoVersion, firstLineOf, detectGo, requiredGo } from './toolchain.js';
import { ensureRequirements, installPolicy } from '../core/requirements.js';
import type { Env } from '../core/env.js';

export type ComponentState = 'resolving' | 'waiting' | 'building';

export type MakeEvent =
  | { type: 'plan'; components: string[] }
  | { type: 'message'; text: string }
  | { type: 'state'; component: string; state: ComponentState }
  | { type: 'up-to-date'; component: string }
  | { type: 'built'; component: string; seconds: number }
  | { type: 'failed'; component: string; error: string; logFile: string; logTail: string[] }
  | { type: 'published'; manifest: Manifest };

export interface MakeOptions {
  componentsDir: string;
  bundlesDir: string;
  cacheDir: string;
  only?: string[];
  dynamic: boolean;
  jobs: number;
  env: Env;
  signal: AbortSignal;
  onEvent: (event: MakeEvent) => void;
}

export interface MakeResult {
  built: string[];
  upToDate: string[];
  failed: string[];
}

/** Bump when the meaning of a fingerprint changes, so old bundles rebuild. */
const FINGERPRINT_SCHEMA = 'moby-make/1';
const LOG_TAIL_LINES = 30;
/** How long builds wait for the other components' sources before the first slots are handed out. */
const START_GRACE_MS = 10_000;

export async function make(options: MakeOptions): Promise<MakeResult> {
  const all = await loadComponents(options.componentsDir, componentContext(options.env, options.dynamic));
  const selected = selectComponents(all, options.only);
  options.onEvent({ type: 'plan', components: selected.map((s) => s.name) });

  const paths = bundlePaths(options.bundlesDir);
  await mkdir(paths.logs, { recursive: true });
  const releaseLock = await acquireLock(join(options.bundlesDir, '.lock'));
  const runDir = join(paths.staging, `${Date.now().toString(36)}-${process.pid}`);
  try {
    await rm(paths.staging, { recursive: true, force: true }); // leftovers of an interrupted run
    const say = (text: string) => options.onEvent({ type: 'message', text });
    await ensureRequirements(
      selected.flatMap((s) => s.needs),
      installPolicy(options.env, say),
    );
    const toolchain = await detectToolchain(selected, options.env);
    const previous = readManifest(paths.current);
    const slots = new Semaphore(Math.max(1, options.jobs), { paused: true });
    const timings = readTimings(paths.logs);
    const gate = new StartGate(selected.length, START_GRACE_MS, () => slots.resume());
    const outcomes = await Promise.all(selected.map((spec) => buildComponent(spec, { ...options, paths, runDir, previous, slots, gate, toolchain, timings })));
    writeTimings(paths.logs, timings);
    const built = outcomes.filter((o): o is BuiltComponent => typeof o === 'object');
    const result: MakeResult = {
      built: built.map((b) => b.name),
      upToDate: selected.filter((_, i) => outcomes[i] === 'up-to-date').map((s) => s.name),
      failed: selected.filter((_, i) => outcomes[i] === 'failed').map((s) => s.name),
    };
    if (options.signal.aborted) throw new InterruptedError();
    if (built.length > 0) {
      const builtNames = new Set(result.built);
      const keep = all.map((s) => s.name).filter((name) => !builtNames.has(name));
      options.onEvent({ type: 'published', manifest: await publish(paths, built, keep) });
    }
    return result;
  } catch (error) {
    throw options.signal.aborted ? new InterruptedError() : error;
  } finally {
    await rm(runDir, { recursive: true, force: true });
    await releaseLock();
  }
}

type Tool = 'go' | 'cc' | 'cmake';

/** The tools whose versions decide a component's output, so they belong in its cache key. */
function toolsUsedBy(spec: ComponentSpec): Tool[] {
  const recipe = spec.recipe;
  if (recipe.kind === 'cmake') return ['cc', 'cmake'];
  return recipe.cgo ? ['go', 'cc'] : ['go'];
}

interface Toolchain {
  /** `go env GOVERSION`, for the go.mod checks. */
  go?: { raw: string; version: string };
  /** Each tool's version line, as recorded in the manifest. */
  versions: Partial<Record<Tool, string>>;
}

async function detectToolchain(specs: ComponentSpec[], env: MakeOptions['env']): Promise<Toolchain> {
  const needed = new Set(specs.flatMap(toolsUsedBy));
  const toolchain: Toolchain = { versions: {} };
  if (needed.has('go')) {
    toolchain.go = await detectGo(env);
    toolchain.versions.go = toolchain.go.raw;
  }
  if (needed.has('cc')) toolchain.versions.cc = await firstLineOf(['cc', '--version'], env);
  if (needed.has('cmake')) toolchain.versions.cmake = await firstLineOf(['cmake', '--version'], env);
  return toolchain;
}

interface BuildEnvironment extends MakeOptions {
  paths: BundlePaths;
  runDir: string;
  previous: Manifest;
  slots: Semaphore;
  gate: StartGate;
  toolchain: Toolchain;
  /** Seconds each component took last time: its scheduling priority, updated after each build. */
  timings: Timings;
}

type Outcome = BuiltComponent | 'up-to-date' | 'failed';

/** Everything decided before anything runs: the verified sources, the steps, and the cache key they give. */
interface ComponentPlan {
  source: ResolvedSource;
  extras: Record<string, ResolvedSource>;
  steps: Step[];
  toolchain: Record<string, string>;
  fingerprint: string;
}

async function planComponent(spec: ComponentSpec, environment: BuildEnvironment, log: WriteStream): Promise<ComponentPlan> {
  const context = {
    cacheDir: environment.cacheDir,
    workDir: join(environment.runDir, 'resolve', spec.name),
    log,
    signal: environment.signal,
    env: environment.env,
  };
  const source = await resolveFirst(spec.name, selectCandidates(spec.name, spec.sources, environment.env), context);
  const extras: Record<string, ResolvedSource> = {};
  for (const [name, candidates] of Object.entries(spec.extraSources ?? {})) {
    extras[name] = await resolveFirst(`${spec.name} (${name})`, candidates, context);
  }
  if (spec.recipe.kind === 'go' && environment.toolchain.go) {
    checkGoVersion(spec.name, await requiredGo(source.dir), environment.toolchain.go);
  }
  const steps = stepsFor(spec, source, stampContext(source, environment.env));
  const toolchain = Object.fromEntries(toolsUsedBy(spec).map((tool) => [tool, environment.toolchain.versions[tool] ?? 'none']));
  const fingerprint = sha256Text(
    JSON.stringify({
      schema: FINGERPRINT_SCHEMA,
      steps,
      source: source.identity,
      extras: mapValues(extras, (e) => e.identity),
      toolchain,
      outputs: outputsOf(spec),
    }),
  );
  return { source, extras, steps, toolchain, fingerprint };
}

/** Runs the plan's steps in a private staging folder; the outputs are published later, all at once. */
async function executePlan(spec: ComponentSpec, plan: ComponentPlan, environment: BuildEnvironment, log: WriteStream): Promise<string> {
  const outDir = join(environment.runDir, 'out', spec.name);
  const workDir = join(environment.runDir, 'work', spec.name);
  await mkdir(outDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  const stepPaths: StepPaths = { [SRC]: plan.source.dir, [OUT]: outDir, [WORK]: workDir };
  for (const [name, extra] of Object.entries(plan.extras)) stepPaths[extraSourcePlaceholder(name)] = extra.dir;
  await runSteps(plan.steps, stepPaths, environment.env, log, environment.signal);
  for (const output of outputsOf(spec)) {
    if (!existsSync(join(outDir, output))) throw new UserError(`the build finished but did not produce ${output}`);
  }
  return outDir;
}

async function buildComponent(spec: ComponentSpec, environment: BuildEnvironment): Promise<Outcome> {
  const { onEvent, signal } = environment;
  // A run writes beside the last build's log and replaces it only when it builds (or fails):
  // an up-to-date component keeps the compiler output of the build that made it.
  const logFile = join(environment.paths.logs, `${spec.name}.log`);
  const pendingLog = `${logFile}.partial`;
  const log = createWriteStream(pendingLog);
  let keepLog = false;
  const started = Date.now();
  let arrived = false;
  const arrive = () => {
    if (!arrived) environment.gate.arrive();
    arrived = true;
  };
  try {
    onEvent({ type: 'state', component: spec.name, state: 'resolving' });
    const plan = await planComponent(spec, environment, log);
    const { previous, paths } = environment;
    if (previous.components[spec.name]?.fingerprint === plan.fingerprint && (await componentIntact(paths.current, previous, spec.name))) {
      onEvent({ type: 'up-to-date', component: spec.name });
      return 'up-to-date';
    }

    keepLog = true;
    onEvent({ type: 'state', component: spec.name, state: 'waiting' });
    arrive();
    const release = await environment.slots.acquire(environment.timings[spec.name] ?? spec.costHint ?? 0);
    try {
      onEvent({ type: 'state', component: spec.name, state: 'building' });
      const buildStarted = Date.now();
      const stagedDir = await executePlan(spec, plan, environment, log);
      environment.timings[spec.name] = (Date.now() - buildStarted) / 1000;
      const seconds = (Date.now() - started) / 1000;
      log.write(`==> ${spec.name}: built in ${seconds.toFixed(1)}s\n`);
      onEvent({ type: 'built', component: spec.name, seconds });
      return {
        name: spec.name,
        stagedDir,
        outputs: outputsOf(spec),
        record: {
          fingerprint: plan.fingerprint,
          source: sourceRecord(plan.source),
          extraSources: mapValues(plan.extras, sourceRecord),
          toolchain: plan.toolchain,
          commands: describeSteps(plan.steps),
        },
      };
    } finally {
      release();
    }
  } catch (error) {
    if (signal.aborted) throw error;
    const message = describeError(error);
    log.write(`==> ${spec.name}: FAILED: ${message}\n`);
    await closeStream(log);
    await rename(pendingLog, logFile);
    onEvent({ type: 'failed', component: spec.name, error: message, logFile, logTail: await lastLines(logFile, LOG_TAIL_LINES) });
    return 'failed';
  } finally {
    arrive();
    await closeStream(log);
    if (keepLog && existsSync(pendingLog)) await rename(pendingLog, logFile);
    else await rm(pendingLog, { force: true });
  }
}

/** moby's BUILDTIME: SOURCE_DATE_EPOCH when set, else the source's commit time; never the clock. */
export function stampContext(source: ResolvedSource, env: MakeOptions['env']): StampContext {
  const epoch = env.SOURCE_DATE_EPOCH;
  const when = epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : (source.commitTime ?? new Date(0));
  return { buildTime: when.toISOString().replace(/\.(\d{3})Z$/, '.$1000000+00:00') };
}

function sourceRecord(source: ResolvedSource): SourceRecord {
  return {
    kind: source.kind,
    identity: source.identity,
    version: source.version,
    ...(source.commit ? { commit: source.commit } : {}),
    ...(source.dirty !== undefined ? { dirty: source.dirty } : {}),
  };
}

function describeSteps(steps: readonly Step[]): string[] {
  return steps.map((step) => {
    if (step.kind === 'exec') {
      const env = Object.entries(step.env).map(([k, v]) => `${k}=${v}`);
      return [...env, ...step.argv.map((a) => (/[\s"]/.test(a) ? `'${a}'` : a))].join(' ');
    }
    if (step.kind === 'edit') return `edit ${step.file}: ${JSON.stringify(step.find)} -> ${JSON.stringify(step.replace)}`;
    return step.kind === 'copy' ? `install -m ${step.mode.toString(8)} ${step.from} ${step.to}` : `cp -r ${step.from} ${step.to}`;
  });
}

function mapValues<T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, map(v)]));
}

function closeStream(stream: WriteStream): Promise<void> {
  return stream.closed ? Promise.resolve() : new Promise((resolve) => stream.end(resolve));
}
