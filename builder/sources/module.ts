import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../../core/env.js';
import { askTool } from '../../core/tool-answers.js';
import { UserError } from '../../core/errors.js';
import type { ModuleSourceSpec, ResolvedSource } from '../model.js';
import { run } from '../../core/process.js';
import type { ResolveContext } from './resolver.js';

interface ModDownload {
  Path: string;
  Version: string;
  Dir?: string;
  Sum?: string;
  Info?: string;
  Error?: string;
}

interface ModInfo {
  Time?: string;
  Origin?: { Hash?: string };
}

/**
 * `go mod download` verifies the zip against the checksum database before it
 * lands in the module cache, and we only ever read from that cache. Where the
 * database is skipped (GOSUMDB=off, GONOSUMDB/GOPRIVATE) only a sum pinned in
 * the component can vouch for the module, so without one we refuse.
 */
export async function resolveModule(spec: ModuleSourceSpec, context: ResolveContext): Promise<ResolvedSource> {
  const target = `${spec.module}@${spec.version}`;
  const skipReason = await checksumDatabaseSkipped(spec.module, context);
  if (skipReason && !spec.sum) {
    throw new UserError(
      `${target} cannot be verified: ${skipReason}, and the component pins no sum for this version`,
      `Let go check it against the checksum database (unset the variable for this module), or pin its h1: sum in the component.`,
    );
  }
  const result = await run(['go', 'mod', 'download', '-json', target], {
    cwd: tmpdir(),
    env: { ...context.env, GOTOOLCHAIN: 'local' },
    signal: context.signal,
  });
  context.log.write(result.stdout + result.stderr);
  const download = parseDownload(result.stdout);
  if (result.exitCode !== 0 || !download?.Dir || !download.Sum) {
    const reason = download?.Error ?? (result.stderr.trim() || `exit ${result.exitCode}`);
    throw new UserError(`cannot download ${target}: ${reason}`);
  }
  if (spec.sum && download.Sum !== spec.sum) {
    throw new UserError(
      `${target} has checksum ${download.Sum}, but the component pins ${spec.sum}`,
      'The module proxy served different content for a pinned version; do not build it.',
    );
  }
  const info = download.Info ? (JSON.parse(await readFile(download.Info, 'utf8')) as ModInfo) : {};
  const originCommit = info.Origin?.Hash;
  if (spec.commit && originCommit && originCommit !== spec.commit) {
    throw new UserError(
      `${target} comes from commit ${originCommit}, but the component pins ${spec.commit}`,
      'Check the pin in the component file; a moved tag is not accepted.',
    );
  }
  const commit = spec.commit ?? originCommit;
  return {
    kind: 'module',
    dir: download.Dir,
    identity: `${target} ${download.Sum}`,
    version: download.Version,
    ...(commit ? { commit } : {}),
    ...(info.Time ? { commitTime: new Date(info.Time) } : {}),
  };
}

async function checksumDatabaseSkipped(module: string, context: ResolveContext): Promise<string | undefined> {
  // Asked once while go and its settings stay the same: each module source asked a go of its own, six per make.
  const result = await askTool(['go', 'env', '-json', 'GOSUMDB', 'GONOSUMDB', 'GOPRIVATE'], context.env, [goEnvFileIdentity(context.env)]);
  const settings = JSON.parse(result.stdout || '{}') as { GOSUMDB?: string; GONOSUMDB?: string; GOPRIVATE?: string };
  if (settings.GOSUMDB === 'off') return 'GOSUMDB=off';
  // GONOSUMDB defaults to GOPRIVATE, as in the go command.
  const variable = settings.GONOSUMDB ? 'GONOSUMDB' : 'GOPRIVATE';
  const patterns = (settings.GONOSUMDB || settings.GOPRIVATE || '').split(',').filter(Boolean);
  const match = patterns.find((pattern) => matchesModulePrefix(pattern, module));
  return match ? `${variable} contains ${match}` : undefined;
}

/** go's own settings file (`go env -w`), which can change the answers above: where it is, and its inode, size and times. */
function goEnvFileIdentity(env: Env): unknown {
  const file = env.GOENV ?? join(env.XDG_CONFIG_HOME || join(env.HOME ?? homedir(), '.config'), 'go', 'env');
  if (file === 'off') return file;
  try {
    const { ino, size, mtimeMs, ctimeMs } = statSync(file);
    return [file, ino, size, mtimeMs, ctimeMs];
  } catch {
    return [file, 'missing'];
  }
}

/** Go's rule for GOPRIVATE-style globs: the pattern matches a path prefix with as many elements as it has. */
export function matchesModulePrefix(pattern: string, module: string): boolean {
  const elements = pattern.split('/').length;
  const prefix = module.split('/').slice(0, elements).join('/');
  const regex = pattern
    .split('')
    .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${regex}$`).test(prefix);
}

function parseDownload(stdout: string): ModDownload | undefined {
  try {
    return JSON.parse(stdout) as ModDownload;
  } catch {
    return undefined;
  }
}
