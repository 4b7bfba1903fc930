import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stepsFor } from './recipes/index.js';
import { OUT, SRC, WORK, describeSteps, extraSourcePlaceholder, runSteps, StepFailedError, type Step, type StepPaths } from './recipes/steps.js';
import { componentIntact, publish, type BuiltComponent } from './bundle.js';
import { extraFingerprint } from './extra-fingerprint.js';
import { pruneBuilds, recallBuild, rememberBuilds } from './output-cache.js';
import { componentContext, loadComponents, selectComponents } from './components.js';
import { openComponentLog, type ComponentLog } from './component-log.js';
import { outputsOf, type ComponentSpec, type ResolvedSource, type StampContext } from './model.js';
import { StartGate } from './scheduling/gate.js';
import { acquireLock } from '../core/lock.js';
import { Semaphore } from './scheduling/semaphore.js';
import { readTimings, writeTimings, type Timings } from './scheduling/timings.js';
import { predictFirst, resolveFirst, selectCandidates } from './sources/index.js';
import { sourceRecord, type ChosenSource } from './sources/record.js';
import { crossRequirements, detectToolchain, toolsUsedBy, type Toolchain } from './toolchain.js';
import { hostPlatform, isHost, type Platform } from '../core/platform.js';
import { checkGoVersion, requiredGo } from '../core/go-toolchain.js';
import { DAEMON_BUNDLE, DEV_IMAGE_VARIABLE, bundlePaths, type BundlePaths } from '../core/bundle-layout.js';
import { knownCause } from '../core/causes.js';
import { DigestMemo } from '../core/digest-memo.js';
import type { Env } from '../core/env.js';
import { InterruptedError, UserError, describeError, isBug } from '../core/errors.js';
import { sha256Text } from '../core/hashing.js';
import { lastLines } from '../core/log-tail.js';
import { ManifestError, emptyManifest, readManifest, type Manifest } from '../core/manifest.js';
import type { RemoteNotice, RemoteOutputs } from '../core/remote-outputs.js';
import { ensureRequirements, installPolicy } from '../core/requirements.js';

export type ComponentState = 'resolving' | 'fetching' | 'waiting' | 'building';

export type MakeEvent =
  | { type: 'plan'; components: string[] }
  | { type: 'installing'; packages: readonly string[] }
  /** The current bundle's manifest cannot be read: every component is rebuilt, the bundle stays until the new one is published. */
  | { type: 'manifest-unreadable'; file: string; reason: string }
  | { type: 'state'; component: string; state: ComponentState }
  | { type: 'up-to-date'; component: string }
  /** `stepsSeconds`: the build steps alone (the compiler), without the planning before and the publishing after. */
  | { type: 'built'; component: string; seconds: number; stepsSeconds: number }
  /** An earlier build with the same fingerprint was kept (the edit was undone): published again without compiling. */
  | { type: 'restored'; component: string }
  /** Downloaded from the shared cache (`ref`: the entry's registry/repo@digest) and verified, instead of compiled. */
  | { type: 'fetched'; component: string; ref: string; seconds: number }
  /** Offered to the shared cache after publishing (MOBY_MAKE_CACHE_PUSH). */
  | { type: 'pushed'; component: string; ref: string }
  | { type: 'cache'; notice: RemoteNotice }
  | {
      type: 'failed';
      component: string;
      error: string;
      /** A recognised cause outside the code (disk full, out of memory, network), when there is one. */
      cause?: string;
      logFile: string;
      logTail: string[];
      /** The stack of an unexpected exception: a bug in moby-make, not a failed build. */
      bug?: string;
    }
  | { type: 'published'; bundleDir: string; manifest: Manifest }
  /** `bundleDirs`: the bundles the selected components belong to. */
  | { type: 'finished'; bundleDirs: string[]; built: string[]; restored: string[]; fetched: string[]; upToDate: string[]; failed: string[] };

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
  /** The shared cache (cache/ on an OCI registry), asked before compiling and offered what was compiled. */
  remote?: RemoteOutputs;
  /** The machine the binaries are for (default: this one); another one is a cross build, recorded in each component's record. */
  platform?: Platform;
  /** Sources already resolved in this command (by another platform's make): the same trees, verified once. */
  resolved?: Map<string, Promise<ResolvedSource>>;
}

export interface MakeResult {
  built: string[];
  /** Published again from an earlier build with the same fingerprint. */
  restored: string[];
  /** Taken from the shared cache. */
  fetched: string[];
  upToDate: string[];
  failed: string[];
}

/** Bump when the meaning of a fingerprint changes, so old bundles rebuild. */
const FINGERPRINT_SCHEMA = 'moby-make/1';
const LOG_TAIL_LINES = 30;
/** How long builds wait for the other components' sources before the first slots are handed out. */
const START_GRACE_MS = 10_000;

export async function make(options: MakeOptions): Promise<MakeResult> {
  const platform = options.platform ?? hostPlatform();
  const cross = isHost(platform) ? undefined : platform;
  const all = await loadComponents(options.componentsDir, componentContext(options.env, options.dynamic, platform));
  const bundles = readBundles(all, options.bundlesDir, options.onEvent);
  const selected = selectWithinBundles(all, bundles, options.only);
  options.onEvent({ type: 'plan', components: selected.map((s) => s.name) });

  const root = bundlePaths(options.bundlesDir);
  const result = await withBuildLock(root, async (runDir) => {
    await ensureRequirements(
      selected.flatMap((s) => [...s.needs, ...(cross ? crossRequirements(s, cross) : [])]),
      installPolicy(options.env, (packages) => options.onEvent({ type: 'installing', packages })),
    );
    const toolchain = await detectToolchain(selected.flatMap(toolsUsedBy), options.env, cross);
    const digests = DigestMemo.open(root.digests);
    const outcomes = await buildAll(selected, {
      ...options,
      cross,
      logs: root.logs,
      runDir,
      bundles,
      toolchain,
      resolved: options.resolved ?? new Map<string, Promise<ResolvedSource>>(),
      digests,
    });
    if (options.signal.aborted) throw new InterruptedError();
    const published = await publishEach(
      all,
      bundles,
      outcomes.filter((o): o is BuiltComponent => typeof o === 'object'),
      digests,
      options.onEvent,
    );
    await digests.save();
    if (options.remote?.pushing) {
      // Everything the bundles now hold that did not come from the registry: a runner with a warm bundle fills an empty registry too.
      const offered = selected.filter((_, i) => outcomes[i] !== 'failed' && !(typeof outcomes[i] === 'object' && outcomes[i].fromCache));
      await pushBundled(options.remote, offered, bundles, published, options.onEvent);
    }
    return summarize(selected, outcomes);
  }).catch((error: unknown) => {
    throw options.signal.aborted ? new InterruptedError() : error;
  });
  const bundleDirs = [...new Set(selected.map((spec) => bundleOf(spec, bundles).paths.current))];
  options.onEvent({ type: 'finished', bundleDirs, ...result });
  return result;
}

/** One bundle folder (binary-daemon, binary-client) as it stands before the build. */
interface BundleState {
  paths: BundlePaths;
  previous: Manifest;
  /** False when its manifest cannot be read: nothing of it is known to be built. */
  readable: boolean;
}

function bundleName(spec: ComponentSpec): string {
  return spec.bundle ?? DAEMON_BUNDLE;
}

function bundleOf(spec: ComponentSpec, bundles: ReadonlyMap<string, BundleState>): BundleState {
  const state = bundles.get(bundleName(spec));
  if (!state) throw new Error(`no bundle state for ${bundleName(spec)}`);
  return state;
}

/** Every bundle some component declares, with its current manifest. */
function readBundles(all: readonly ComponentSpec[], root: string, onEvent: MakeOptions['onEvent']): Map<string, BundleState> {
  const bundles = new Map<string, BundleState>();
  for (const name of new Set(all.map(bundleName))) {
    const paths = bundlePaths(root, name);
    bundles.set(name, { paths, ...readPreviousManifest(paths, onEvent) });
  }
  return bundles;
}

/**
 * The components --only names. A bundle whose manifest cannot be read keeps
 * nothing, so a subset of it would publish a bundle missing the rest: when
 * any of its components is selected, all of them are.
 */
function selectWithinBundles(all: readonly ComponentSpec[], bundles: ReadonlyMap<string, BundleState>, only: readonly string[] | undefined): ComponentSpec[] {
  const chosen = new Set(selectComponents([...all], only));
  const touched = new Set([...chosen].map(bundleName));
  return all.filter((spec) => chosen.has(spec) || (touched.has(bundleName(spec)) && !bundleOf(spec, bundles).readable));
}

/**
 * Publishes a new generation of each bundle that has built components; the
 * others stay as they are. The digests proved or taken this run are carried
 * through the links into the new generation (see carryProofs).
 */
async function publishEach(
  all: readonly ComponentSpec[],
  bundles: ReadonlyMap<string, BundleState>,
  built: readonly BuiltComponent[],
  digests: DigestMemo,
  onEvent: MakeOptions['onEvent'],
): Promise<Array<{ paths: BundlePaths; manifest: Manifest }>> {
  const published: Array<{ paths: BundlePaths; manifest: Manifest }> = [];
  const builtNames = new Set(built.map((b) => b.name));
  for (const [name, state] of bundles) {
    const members = all.filter((spec) => bundleName(spec) === name).map((spec) => spec.name);
    const builtHere = built.filter((b) => members.includes(b.name));
    if (builtHere.length === 0) continue;
    const keep = members.filter((member) => !builtNames.has(member));
    await provedUnchanged(digests, state);
    const [manifest] = await Promise.all([
      publish(state.paths, builtHere, keep, state.previous),
      pruneBuilds(
        state.paths,
        builtHere.map((b) => ({ component: b.name, fingerprint: b.record.fingerprint })),
      ),
    ]);
    await rememberBuilds(
      state.paths,
      manifest,
      builtHere.map((b) => b.name),
    );
    // After rememberBuilds, whose links into .builds change the built files' ctime too.
    await carryProofs(digests, state.paths, manifest, new Set(builtHere.flatMap((b) => b.outputs)));
    onEvent({ type: 'published', bundleDir: state.paths.current, manifest });
    published.push({ paths: state.paths, manifest });
  }
  return published;
}

/**
 * Before publishing links them: a kept file whose bytes still have the
 * identity they had when a run proved them (this one or an earlier one)
 * counts as proved; one edited since does not.
 */
async function provedUnchanged(digests: DigestMemo, state: BundleState): Promise<void> {
  await Promise.all(Object.keys(state.previous.files).map((name) => digests.unchanged(join(state.paths.current, name))));
}

/**
 * Publishing links the kept files into the new generation, which changes
 * their ctime: a proved one keeps its proof with its new identity, so --only
 * (a --watch round) does not cost the next check a hash of everything it
 * left out, and a written one has the digest taken on its way in.
 */
async function carryProofs(digests: DigestMemo, paths: BundlePaths, manifest: Manifest, written: ReadonlySet<string>): Promise<void> {
  await Promise.all(
    Object.entries(manifest.files).map(([name, file]) =>
      written.has(name) ? digests.remember(join(paths.current, name), file.sha256) : digests.relinked(join(paths.current, name)),
    ),
  );
}

/** Each offered component as its bundle now holds it (just published, or as it was) goes to the shared cache, unless it is there already. */
async function pushBundled(
  remote: RemoteOutputs,
  offered: readonly ComponentSpec[],
  bundles: ReadonlyMap<string, BundleState>,
  published: ReadonlyArray<{ paths: BundlePaths; manifest: Manifest }>,
  onEvent: MakeOptions['onEvent'],
): Promise<void> {
  for (const spec of offered) {
    const state = bundleOf(spec, bundles);
    const manifest = published.find(({ paths }) => paths.current === state.paths.current)?.manifest ?? state.previous;
    const record = manifest.components[spec.name];
    if (!record) continue;
    const pushed = await remote.push({ component: spec.name, record, files: manifest.files, dir: state.paths.current });
    if (pushed) onEvent({ type: 'pushed', component: spec.name, ref: pushed.ref });
  }
}

/** The current bundle's manifest; an unreadable one means nothing is known to be built (and says so). */
function readPreviousManifest(paths: BundlePaths, onEvent: MakeOptions['onEvent']): { previous: Manifest; readable: boolean } {
  try {
    return { previous: readManifest(paths.current), readable: true };
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    onEvent({ type: 'manifest-unreadable', file: error.file, reason: error.reason });
    return { previous: emptyManifest(), readable: false };
  }
}

/** One build per bundles folder at a time, in a staging folder that is removed afterwards whatever happens. */
async function withBuildLock<T>(paths: BundlePaths, work: (runDir: string) => Promise<T>): Promise<T> {
  await mkdir(paths.logs, { recursive: true });
  const releaseLock = await acquireLock(join(paths.root, '.lock'));
  const runDir = join(paths.staging, `${Date.now().toString(36)}-${process.pid}`);
  try {
    await rm(paths.staging, { recursive: true, force: true }); // leftovers of an interrupted run
    return await work(runDir);
  } finally {
    await rm(runDir, { recursive: true, force: true });
    await releaseLock();
  }
}

interface BuildEnvironment extends MakeOptions {
  /** bundles/logs: build logs and timings, shared by every bundle. */
  logs: string;
  runDir: string;
  bundles: ReadonlyMap<string, BundleState>;
  toolchain: Toolchain;
  /** The target, when it is not this machine. */
  cross: Platform | undefined;
  /** Sources resolved so far in this run, shared by the components that use the same tree. */
  resolved: Map<string, Promise<ResolvedSource>>;
  /** The bundles' files' digests from earlier runs: a no-op make reads none of their bytes. */
  digests: DigestMemo;
}

/** Everything a component's build shares with the others running beside it. */
interface Scheduling {
  slots: Semaphore;
  gate: StartGate;
  /** Seconds each component took last time: its scheduling priority, updated after each build. */
  timings: Timings;
}

/** A component published by this run: compiled, restored from .builds, or taken from the shared cache. */
type BuiltHere = BuiltComponent & { restored?: boolean; fromCache?: string };
type Outcome = BuiltHere | 'up-to-date' | 'failed';

/** Builds every component concurrently, handing build slots out longest-build first. */
async function buildAll(selected: readonly ComponentSpec[], environment: BuildEnvironment): Promise<Outcome[]> {
  const slots = new Semaphore(Math.max(1, environment.jobs), { paused: true });
  const scheduling: Scheduling = {
    slots,
    gate: new StartGate(selected.length, START_GRACE_MS, () => slots.resume()),
    timings: readTimings(environment.logs),
  };
  const outcomes = await Promise.all(selected.map((spec) => buildComponent(spec, environment, scheduling)));
  writeTimings(environment.logs, scheduling.timings);
  return outcomes;
}

function summarize(selected: readonly ComponentSpec[], outcomes: readonly Outcome[]): MakeResult {
  const named = (match: (outcome: Outcome) => boolean) => selected.filter((_, i) => match(outcomes[i] as Outcome)).map((s) => s.name);
  return {
    built: named((o) => typeof o === 'object' && !o.restored && !o.fromCache),
    restored: named((o) => typeof o === 'object' && Boolean(o.restored)),
    fetched: named((o) => typeof o === 'object' && Boolean(o.fromCache)),
    upToDate: named((o) => o === 'up-to-date'),
    failed: named((o) => o === 'failed'),
  };
}

async function buildComponent(spec: ComponentSpec, environment: BuildEnvironment, scheduling: Scheduling): Promise<Outcome> {
  const { onEvent, signal } = environment;
  const log = openComponentLog(environment.logs, spec.name);
  const started = Date.now();
  // Each component arrives at the start gate exactly once: when it waits for a slot, or when it will not build.
  let arrived = false;
  const arrive = () => {
    if (!arrived) scheduling.gate.arrive();
    arrived = true;
  };
  try {
    onEvent({ type: 'state', component: spec.name, state: 'resolving' });
    const predicted = await planFromPins(spec, environment);
    if (predicted) {
      const taken = await takeWithoutBuilding(spec, predicted, environment);
      if (taken) return taken;
      onEvent({ type: 'state', component: spec.name, state: 'resolving' });
    }
    const plan = await planComponent(spec, environment, log);
    const found = await takeWithoutBuilding(spec, plan, environment);
    if (found) return found;
    log.keep();
    onEvent({ type: 'state', component: spec.name, state: 'waiting' });
    arrive();
    const release = await scheduling.slots.acquire(scheduling.timings[spec.name] ?? spec.costHint ?? 0);
    try {
      onEvent({ type: 'state', component: spec.name, state: 'building' });
      const buildStarted = performance.now();
      const stagedDir = await executePlan(spec, plan, environment, log);
      const stepsSeconds = (performance.now() - buildStarted) / 1000;
      scheduling.timings[spec.name] = stepsSeconds;
      const seconds = (Date.now() - started) / 1000;
      log.write(`==> ${spec.name}: built in ${seconds.toFixed(1)}s\n`);
      onEvent({ type: 'built', component: spec.name, seconds, stepsSeconds });
      return builtComponent(spec, plan, stagedDir);
    } finally {
      release();
    }
  } catch (error) {
    if (signal.aborted) throw error;
    await reportFailure(spec, error, log, onEvent);
    return 'failed';
  } finally {
    arrive();
    await log.close();
  }
}

/** Everything decided before anything runs: the verified sources, the steps, and the cache key they give. */
interface ComponentPlan {
  source: ChosenSource;
  extras: Record<string, ChosenSource>;
  steps: Step[];
  toolchain: Record<string, string>;
  fingerprint: string;
  /** The cross target's name (linux/arm64); absent for this machine. */
  platform?: string;
}

/** The build this fingerprint names, taken without compiling: the bundle's own (up to date), an earlier one in .builds, or the shared cache's. */
async function takeWithoutBuilding(spec: ComponentSpec, plan: ComponentPlan, environment: BuildEnvironment): Promise<Exclude<Outcome, 'failed'> | undefined> {
  if (await isUpToDate(spec, plan, environment)) {
    environment.onEvent({ type: 'up-to-date', component: spec.name });
    return 'up-to-date';
  }
  const restored = await recallBuild(bundleOf(spec, environment.bundles).paths, spec.name, plan.fingerprint, join(environment.runDir, 'out', spec.name));
  if (restored) {
    environment.onEvent({ type: 'restored', component: spec.name });
    return { ...restored, restored: true };
  }
  return fetchFromRemote(spec, plan, environment);
}

/**
 * The plan before any source is fetched, for a component its pins alone
 * determine: a source whose resolution is known without fetching
 * (predictFirst), no go.mod to read and no extra sources. When that plan's
 * build is at hand (up to date, in .builds, in the shared cache), the tree
 * is never fetched: on a fresh machine, docker-init's Debian source would
 * cost apt an update and a download that the cached build makes pointless.
 * Not when the bundle holds a build from another kind of candidate, which
 * would swap a good build for another one of the same release.
 */
async function planFromPins(spec: ComponentSpec, environment: BuildEnvironment): Promise<ComponentPlan | undefined> {
  if (spec.recipe.kind === 'go' || Object.keys(spec.extraSources ?? {}).length > 0) return undefined;
  const source = predictFirst(selectCandidates(spec.name, spec.sources, environment.env), environment);
  const held = bundleOf(spec, environment.bundles).previous.components[spec.name];
  if (!source || (held && held.source.kind !== source.spec.kind)) return undefined;
  return planWith(spec, source, {}, environment);
}

async function planComponent(spec: ComponentSpec, environment: BuildEnvironment, log: ComponentLog): Promise<ComponentPlan> {
  const context = {
    cacheDir: environment.cacheDir,
    workDir: join(environment.runDir, 'resolve', spec.name),
    log,
    signal: environment.signal,
    env: environment.env,
    resolved: environment.resolved,
  };
  const source = await resolveFirst(spec.name, selectCandidates(spec.name, spec.sources, environment.env), context);
  const extras: Record<string, ChosenSource> = {};
  for (const [name, candidates] of Object.entries(spec.extraSources ?? {})) {
    extras[name] = await resolveFirst(`${spec.name} (${name})`, candidates, context);
  }
  if (spec.recipe.kind === 'go' && environment.toolchain.go) {
    checkGoVersion(spec.name, await requiredGo(source.dir), environment.toolchain.go);
  }
  return planWith(spec, source, extras, environment);
}

/** The steps and the fingerprint that the chosen sources give. */
async function planWith(
  spec: ComponentSpec,
  source: ChosenSource,
  extras: Record<string, ChosenSource>,
  environment: BuildEnvironment,
): Promise<ComponentPlan> {
  const { cross } = environment;
  const steps = stepsFor(spec, source, stampContext(source, environment.env), cross);
  const toolchain: Record<string, string> = Object.fromEntries(toolsUsedBy(spec).map((tool) => [tool, environment.toolchain.versions[tool] ?? 'none']));
  // Built inside the dev image (make --in-container): the image is part of the toolchain, in the manifest and the cache key.
  const devImage = environment.env[DEV_IMAGE_VARIABLE];
  if (devImage) toolchain.image = devImage;
  const extraKeys: Record<string, string> = {};
  for (const [name, extra] of Object.entries(extras)) extraKeys[name] = await extraFingerprint(name, extra, steps);
  const fingerprint = sha256Text(
    JSON.stringify({
      schema: FINGERPRINT_SCHEMA,
      steps,
      source: source.identity,
      extras: extraKeys,
      toolchain,
      outputs: outputsOf(spec),
      ...(cross ? { platform: cross.name } : {}),
    }),
  );
  return { source, extras, steps, toolchain, fingerprint, ...(cross ? { platform: cross.name } : {}) };
}

async function isUpToDate(spec: ComponentSpec, plan: ComponentPlan, environment: BuildEnvironment): Promise<boolean> {
  const { previous, paths } = bundleOf(spec, environment.bundles);
  return previous.components[spec.name]?.fingerprint === plan.fingerprint && (await componentIntact(paths.current, previous, spec.name, environment.digests));
}

/** The outputs from the shared cache, staged for publishing like a build's, with where they came from in the record. */
async function fetchFromRemote(spec: ComponentSpec, plan: ComponentPlan, environment: BuildEnvironment): Promise<BuiltHere | undefined> {
  const { remote, onEvent } = environment;
  if (!remote) return undefined;
  onEvent({ type: 'state', component: spec.name, state: 'fetching' });
  const started = performance.now();
  const dir = join(environment.runDir, 'out', spec.name);
  const hit = await remote.fetch({ component: spec.name, fingerprint: plan.fingerprint, outputs: outputsOf(spec), dir });
  if (!hit) return undefined;
  onEvent({ type: 'fetched', component: spec.name, ref: hit.ref, seconds: (performance.now() - started) / 1000 });
  const built = builtComponent(spec, plan, dir);
  return { ...built, record: { ...built.record, fromCache: hit.ref }, fromCache: hit.ref, provenFiles: hit.files };
}

/** Runs the plan's steps in a private staging folder; the outputs are published later, all at once. */
async function executePlan(spec: ComponentSpec, plan: ComponentPlan, environment: BuildEnvironment, log: ComponentLog): Promise<string> {
  const outDir = join(environment.runDir, 'out', spec.name);
  const workDir = join(environment.runDir, 'work', spec.name);
  await mkdir(outDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  const stepPaths: StepPaths = { [SRC]: plan.source.dir, [OUT]: outDir, [WORK]: workDir };
  for (const [name, extra] of Object.entries(plan.extras)) stepPaths[extraSourcePlaceholder(name)] = extra.dir;
  const { remote } = environment;
  // Not a step's variable: where go keeps its cache changes no output, so neither the commands nor the fingerprint name it.
  const env = remote && spec.recipe.kind === 'go' ? { ...environment.env, ...remote.goBuildEnv(spec.name) } : environment.env;
  await runSteps(plan.steps, stepPaths, env, log, environment.signal);
  const missing = outputsOf(spec).find((output) => !existsSync(join(outDir, output)));
  if (missing) throw new UserError(`the build finished but did not produce ${missing}`);
  return outDir;
}

function builtComponent(spec: ComponentSpec, plan: ComponentPlan, stagedDir: string): BuiltComponent {
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
      ...(plan.platform ? { platform: plan.platform } : {}),
    },
  };
}

/** A failed build keeps its log and says why in one line; a bug keeps its stack for --verbose. */
async function reportFailure(spec: ComponentSpec, error: unknown, log: ComponentLog, onEvent: MakeOptions['onEvent']): Promise<void> {
  const message = describeError(error);
  log.write(`==> ${spec.name}: FAILED: ${message}\n`);
  log.keep();
  await log.close();
  const logTail = await lastLines(log.file, LOG_TAIL_LINES);
  const cause = knownCause(logTail.join('\n'), error instanceof StepFailedError ? error.termination.signal : undefined);
  const bug = isBug(error) ? ((error instanceof Error ? error.stack : undefined) ?? String(error)) : undefined;
  onEvent({ type: 'failed', component: spec.name, error: message, logFile: log.file, logTail, ...(cause ? { cause } : {}), ...(bug ? { bug } : {}) });
}

/** moby's BUILDTIME: SOURCE_DATE_EPOCH when set, else the source's commit time; never the clock. */
export function stampContext(source: ResolvedSource, env: Env): StampContext {
  const epoch = env.SOURCE_DATE_EPOCH;
  const when = epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : (source.commitTime ?? new Date(0));
  return { buildTime: when.toISOString().replace(/\.(\d{3})Z$/, '.$1000000+00:00'), sourceDate: when };
}

function mapValues<T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, map(v)]));
}
