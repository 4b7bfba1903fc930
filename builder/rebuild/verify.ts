import { createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Env } from '../../core/env.js';
import { InterruptedError, UserError, describeError } from '../../core/errors.js';
import { sha256File } from '../../core/hashing.js';
import { lastLines } from '../../core/log-tail.js';
import { MANIFEST_FILE, parseManifest, type ComponentRecord, type Manifest } from '../../core/manifest.js';
import { OUT, SRC, WORK, extraSourcePlaceholder } from '../../core/placeholders.js';
import { describeTermination } from '../../core/process.js';
import { replayCommands } from './replay.js';
import { fetchRecorded } from './sources.js';
import { checkToolchain } from './toolchain.js';

export type VerifyEvent =
  | { type: 'plan'; manifest: string; components: string[]; workDir: string }
  | { type: 'toolchain'; versions: Record<string, string> }
  | { type: 'state'; component: string; state: 'fetching' | 'replaying' }
  | { type: 'command'; component: string; index: number; total: number; command: string }
  /** A component whose sources could not be fetched as recorded, or one of whose commands failed. */
  | { type: 'component-failed'; component: string; error: string; logTail: string[] }
  | { type: 'file'; component: string; file: string; outcome: FileOutcome; recorded: string; rebuilt?: string }
  | { type: 'component-done'; component: string; seconds: number; reproduced: number; differing: number }
  | { type: 'finished'; reproduced: string[]; differing: string[]; failed: string[]; seconds: number; keptDir?: string };

/** `missing`: the replay finished but did not produce the file. */
export type FileOutcome = 'reproduced' | 'DIFFERS' | 'missing';

export interface VerifyOptions {
  /** A manifest.json, or a bundle folder holding one. */
  manifest: string;
  only?: string[];
  /** The download cache shared with make (verified by identity, so sharing is safe). */
  cacheDir: string;
  /** Where the fresh temporary folder is made (default: the system's temporary folder). */
  tempRoot: string;
  /** Keep the temporary folder (sources' copies, outputs, logs) for a look. */
  keep: boolean;
  env: Env;
  signal: AbortSignal;
  onEvent: (event: VerifyEvent) => void;
}

export interface VerifyResult {
  reproduced: string[];
  differing: string[];
  failed: string[];
}

const LOG_TAIL_LINES = 30;

/**
 * The rebuilder: replays a manifest's recorded commands from nothing but the
 * manifest, in a fresh folder with an empty Go build cache, and compares each
 * output's sha256 with the recorded one. It reads the bundle's manifest and
 * never writes anywhere near the bundle.
 */
export async function verifyBundle(options: VerifyOptions): Promise<VerifyResult> {
  const started = Date.now();
  const manifestFile = manifestPath(options.manifest);
  const manifest = parseManifest(manifestFile, await readFile(manifestFile, 'utf8'));
  const selected = selectRecorded(manifest, options.only);
  const toolchain = await checkToolchain(Object.fromEntries(selected.map((name) => [name, recordOf(manifest, name)])), options.env);

  await mkdir(options.tempRoot, { recursive: true });
  const workDir = await mkdtemp(join(await realpath(options.tempRoot), 'moby-make-verify-'));
  options.onEvent({ type: 'plan', manifest: manifestFile, components: selected, workDir });
  options.onEvent({ type: 'toolchain', versions: toolchain });
  const result: VerifyResult = { reproduced: [], differing: [], failed: [] };
  // One empty Go build cache for the whole run: nothing built before can stand in for a compile.
  const env = { ...options.env, GOCACHE: join(workDir, 'gocache') };
  try {
    for (const name of selected) {
      const outcome = await verifyComponent(name, manifest, { ...options, env, workDir });
      if (outcome === 'failed') result.failed.push(name);
      else for (const [file, same] of outcome) (same ? result.reproduced : result.differing).push(file);
    }
  } catch (error) {
    throw options.signal.aborted ? new InterruptedError('The bundle was not touched.') : error;
  } finally {
    if (!options.keep) await rm(workDir, { recursive: true, force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  options.onEvent({ type: 'finished', ...result, seconds, ...(options.keep ? { keptDir: workDir } : {}) });
  return result;
}

function manifestPath(given: string): string {
  const file = existsSync(given) && statSync(given).isDirectory() ? join(given, MANIFEST_FILE) : given;
  if (!existsSync(file)) throw new UserError(`there is no bundle manifest at ${file}`, 'Build one with: npm run make (or give --manifest PATH).');
  return file;
}

function selectRecorded(manifest: Manifest, only: readonly string[] | undefined): string[] {
  const recorded = Object.keys(manifest.components).sort();
  if (recorded.length === 0) throw new UserError('the manifest records no components');
  if (!only) return recorded;
  const unknown = only.filter((name) => !recorded.includes(name));
  if (unknown.length > 0) throw new UserError(`the manifest records no component ${unknown.join(', ')}`, `Recorded: ${recorded.join(', ')}.`);
  return recorded.filter((name) => only.includes(name));
}

function recordOf(manifest: Manifest, name: string): ComponentRecord {
  const record = manifest.components[name];
  if (!record) throw new Error(`no record for ${name}`);
  return record;
}

type ComponentOptions = VerifyOptions & { workDir: string };

/** Fetch, replay, compare; a component that cannot be fetched or replayed fails alone. */
async function verifyComponent(name: string, manifest: Manifest, options: ComponentOptions): Promise<Map<string, boolean> | 'failed'> {
  const { onEvent, signal } = options;
  const started = Date.now();
  const record = recordOf(manifest, name);
  const root = join(options.workDir, name);
  const out = join(root, 'out');
  const work = join(root, 'work');
  await mkdir(out, { recursive: true });
  await mkdir(work, { recursive: true });
  const logFile = join(root, 'replay.log');
  const log = createWriteStream(logFile);
  let closed: Promise<void> | undefined;
  const closeLog = () => (closed ??= new Promise<void>((resolve) => log.end(resolve)));
  try {
    onEvent({ type: 'state', component: name, state: 'fetching' });
    const context = { cacheDir: options.cacheDir, workDir: join(root, 'fetch'), log, signal, env: options.env };
    const paths: Record<string, string> = { [SRC]: (await fetchRecorded(name, record.source, context)).dir, [OUT]: out, [WORK]: work };
    for (const [extra, source] of Object.entries(record.extraSources)) {
      paths[extraSourcePlaceholder(extra)] = (await fetchRecorded(`${name} (${extra})`, source, context)).dir;
    }
    onEvent({ type: 'state', component: name, state: 'replaying' });
    const total = record.commands.length;
    const replay = await replayCommands(record.commands, {
      paths,
      cwd: work,
      env: options.env,
      log,
      signal,
      onCommand: (index) => onEvent({ type: 'command', component: name, index, total, command: record.commands[index] ?? '' }),
    });
    if (!replay.ok) {
      await closeLog();
      const error = `command ${replay.index + 1} of ${total} ${describeTermination(replay.result)}`;
      onEvent({ type: 'component-failed', component: name, error, logTail: await lastLines(logFile, LOG_TAIL_LINES) });
      return 'failed';
    }
  } catch (error) {
    if (signal.aborted) throw error;
    if (!(error instanceof UserError)) throw error;
    await closeLog();
    onEvent({ type: 'component-failed', component: name, error: describeError(error), logTail: [] });
    return 'failed';
  } finally {
    await closeLog();
  }
  return compareOutputs(name, record, manifest, out, started, onEvent);
}

async function compareOutputs(
  name: string,
  record: ComponentRecord,
  manifest: Manifest,
  out: string,
  started: number,
  onEvent: VerifyOptions['onEvent'],
): Promise<Map<string, boolean>> {
  const outcomes = new Map<string, boolean>();
  for (const file of record.outputs) {
    const recorded = manifest.files[file]?.sha256 ?? '(none recorded)';
    const path = join(out, file);
    if (!existsSync(path)) {
      onEvent({ type: 'file', component: name, file, outcome: 'missing', recorded });
      outcomes.set(file, false);
      continue;
    }
    const rebuilt = await sha256File(path);
    const outcome = rebuilt === recorded ? 'reproduced' : 'DIFFERS';
    onEvent({ type: 'file', component: name, file, outcome, recorded, rebuilt });
    outcomes.set(file, outcome === 'reproduced');
  }
  const reproduced = [...outcomes.values()].filter(Boolean).length;
  onEvent({ type: 'component-done', component: name, seconds: (Date.now() - started) / 1000, reproduced, differing: outcomes.size - reproduced });
  return outcomes;
}
