import { execFileSync } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import type { Env } from './env.js';
import { run, type RunResult } from './process.js';
import { findOnPath } from './requirements.js';

/**
 * A tool's answer about itself (`go env GOVERSION`, `cc --version`,
 * `pkg-config --exists libsystemd`) is part of every cache key, and the watch
 * asks on every round; it is asked again only when the question could get
 * another answer. The key is the question, the whole environment it is asked
 * in, and the file PATH finds, followed through symlinks (update-alternatives
 * switches `cc` there) with its inode, size and times (an upgrade replaces
 * it). A run that fails is asked again next time.
 */
const answers = new Map<string, Promise<RunResult>>();
const syncAnswers = new Map<string, { ok: boolean; stdout: string }>();

function questionKey(argv: readonly string[], env: Env, also: readonly unknown[]): string | undefined {
  const [command] = argv;
  const found = command === undefined ? undefined : findOnPath(command, env);
  if (!found) return undefined;
  try {
    const binary = realpathSync(found);
    const { dev, ino, size, mtimeMs, ctimeMs } = statSync(binary);
    const environment = Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return JSON.stringify([argv, binary, dev, ino, size, mtimeMs, ctimeMs, environment, also]);
  } catch {
    return undefined;
  }
}

/**
 * `run(argv, { env })`, answered from memory while the tool, the environment
 * and `also` (e.g. the identity of a settings file the tool reads) stay the same.
 */
export function askTool(argv: readonly string[], env: Env, also: readonly unknown[] = []): Promise<RunResult> {
  const key = questionKey(argv, env, also);
  if (key === undefined) return run(argv, { env });
  const known = answers.get(key);
  if (known) return known;
  const asked = run(argv, { env });
  answers.set(key, asked);
  void asked.then(
    (result) => result.exitCode === 0 || answers.delete(key),
    () => answers.delete(key),
  );
  return asked;
}

/**
 * The same for a question asked synchronously, whose answer may also depend
 * on files the tool reads (`also`: e.g. the times of pkg-config's folders).
 * Here a failure is an answer too (`pkg-config --exists` says no by failing),
 * kept like the others.
 */
export function askToolSync(argv: readonly string[], env: Env, also: readonly unknown[] = []): { ok: boolean; stdout: string } {
  const key = questionKey(argv, env, also);
  const known = key === undefined ? undefined : syncAnswers.get(key);
  if (known) return known;
  const [command, ...args] = argv;
  let answer = { ok: false, stdout: '' };
  try {
    if (command !== undefined) answer = { ok: true, stdout: execFileSync(command, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) };
  } catch {
    // answered no
  }
  if (key !== undefined) syncAnswers.set(key, answer);
  return answer;
}
