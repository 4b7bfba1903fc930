import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { GitSourceSpec, ResolvedSource } from '../model.js';
import { lastLine, run, type RunResult } from '../../core/process.js';
import { populateAtomically } from '../../core/populate-atomically.js';
import type { ResolveContext } from './resolver.js';

/** A fetch that has not finished by then is stuck, not slow (a shallow fetch of moby is tens of MB). */
const FETCH_TIMEOUT_MS = 15 * 60 * 1000;
/** Abort a transfer that stays below 1 kB/s for a minute (also covers a connection that never opens). */
const LOW_SPEED = ['-c', 'http.lowSpeedLimit=1000', '-c', 'http.lowSpeedTime=60'];

/**
 * A repository at a ref that must resolve to the pinned commit. The commit is
 * fetched shallowly (one commit, no history) into `<cache>/git/<commit>`, with
 * its .git kept so that builds that ask git for their id (tini's CMakeLists)
 * still can. A checkout in the cache is reused without touching the network
 * as long as it is still exactly that commit with no changes.
 */
export async function resolveGit(spec: GitSourceSpec, context: ResolveContext): Promise<ResolvedSource> {
  const commit = spec.commit.toLowerCase();
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(commit)) {
    throw new UserError(`git source ${spec.url}: the pin '${spec.commit}' is not a full commit hash`, `Pin the full hash that ${spec.ref} points at.`);
  }
  const dir = join(context.cacheDir, 'git', commit);
  if (existsSync(dir)) {
    const problem = await checkoutProblem(dir, commit, context);
    if (!problem) {
      context.log.write(`==> git: ${commit} is in the cache (${dir}); not fetching\n`);
      return describeCheckout(dir, spec, commit, context);
    }
    context.log.write(`==> git: the cached checkout ${dir} ${problem}; fetching it again\n`);
    await rm(dir, { recursive: true, force: true });
  }
  await populateAtomically(dir, async (temp) => {
    await fetchPinned(temp, spec, commit, context);
    const problem = await checkoutProblem(temp, commit, context);
    if (problem) throw new UserError(`the checkout of ${commit} from ${spec.url} ${problem}`);
  });
  return describeCheckout(dir, spec, commit, context);
}

/** `git init` + `git fetch --depth 1 <url> <ref>`, then the commit check, then a detached checkout. */
async function fetchPinned(dir: string, spec: GitSourceSpec, commit: string, context: ResolveContext): Promise<void> {
  const url = repositoryLocation(spec.url);
  const timeout = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  const signal = AbortSignal.any([context.signal, timeout]);
  const git = async (args: string[]): Promise<RunResult> => {
    context.log.write(`$ git ${args.join(' ')}\n`);
    try {
      return await run(['git', ...args], { cwd: dir, env: gitEnvironment(context.env), log: context.log, signal });
    } catch (error) {
      if (timeout.aborted && !context.signal.aborted) {
        throw new UserError(`fetching ${spec.ref} from ${url} did not finish within ${FETCH_TIMEOUT_MS / 60_000} minutes`);
      }
      throw error;
    }
  };
  const init = await git(['-c', 'init.defaultBranch=main', 'init', '-q', '.']);
  if (init.exitCode !== 0) throw new UserError(`git init in ${dir} failed: ${lastLine(init.stderr)}`);

  const fetch = await git([...LOW_SPEED, 'fetch', '--depth', '1', '--no-tags', url, spec.ref]);
  if (fetch.exitCode !== 0) {
    throw new UserError(`cannot fetch ${spec.ref} from ${url}: ${gitReason(fetch.stderr)}`);
  }
  const fetched = (await git(['rev-parse', '--verify', 'FETCH_HEAD^{commit}'])).stdout.trim();
  if (fetched !== commit) {
    throw new UserError(
      `${url} ${spec.ref} is commit ${fetched || '(none)'}, but the component pins ${commit}`,
      'Either the tag was moved upstream or the pin is wrong; nothing was built. Check the release and update the pin deliberately.',
    );
  }
  const checkout = await git(['-c', 'advice.detachedHead=false', 'checkout', '-q', '--detach', commit]);
  if (checkout.exitCode !== 0) throw new UserError(`cannot check out ${commit}: ${gitReason(checkout.stderr)}`);
}

/** Why a checkout cannot be used as the pinned commit, or undefined when it can. */
async function checkoutProblem(dir: string, commit: string, context: ResolveContext): Promise<string | undefined> {
  const git = (args: string[]) => run(['git', '-C', dir, ...args], { env: gitEnvironment(context.env), signal: context.signal });
  const head = await git(['rev-parse', '--verify', 'HEAD^{commit}']);
  if (head.exitCode !== 0) return 'has no commit checked out';
  if (head.stdout.trim() !== commit) return `is at ${head.stdout.trim()}, not ${commit}`;
  const status = await git(['status', '--porcelain', '--untracked-files=all']);
  if (status.exitCode !== 0) return `cannot be read by git: ${lastLine(status.stderr)}`;
  if (status.stdout.trim() !== '') return 'has local changes';
  return undefined;
}

async function describeCheckout(dir: string, spec: GitSourceSpec, commit: string, context: ResolveContext): Promise<ResolvedSource> {
  const time = await run(['git', '-C', dir, 'log', '-1', '--format=%ct'], { env: gitEnvironment(context.env), signal: context.signal });
  const seconds = Number(time.stdout.trim());
  return {
    kind: 'git',
    dir,
    identity: `git ${commit}`,
    version: spec.ref,
    commit,
    dirty: false,
    ...(time.exitCode === 0 && Number.isFinite(seconds) && seconds > 0 ? { commitTime: new Date(seconds * 1000) } : {}),
  };
}

/** URLs (scheme://, scp-like host:path) go to git as they are; anything else is a path on this machine. */
export function repositoryLocation(url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  if (/^[^/]+:/.test(url) && !url.startsWith('.')) return url;
  return resolve(url);
}

/** Never prompt for credentials: a missing repository fails at once instead of waiting for a user. */
function gitEnvironment(env: ResolveContext['env']): Record<string, string | undefined> {
  return {
    ...env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: env.GIT_ASKPASS ?? '/bin/false',
    GIT_SSH_COMMAND: env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes -o ConnectTimeout=30',
  };
}

/** git's own words: its last fatal/error line. */
function gitReason(stderr: string): string {
  const lines = stderr.trim().split('\n');
  const fatal = lines.filter((line) => /^(fatal|error):/.test(line)).pop();
  return (fatal ?? lastLine(stderr)).replace(/^(fatal|error):\s*/, '') || 'git failed';
}
