import { createWriteStream, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { z } from 'zod';
import type { GoTool } from '../core/go-tools.js';
import { UserError } from '../core/errors.js';
import { lastLine, run, type RunResult } from '../core/process.js';
import type { Env } from '../core/env.js';
import { goEnv, type Check, type CheckContext } from './context.js';
import { walkFiles } from './files.js';
import { fileFinding, type Finding } from './model.js';

/** moby's GOLANGCI_LINT_VERSION at the pinned tag. */
export const GOLANGCI_LINT: GoTool = { pkg: 'github.com/golangci/golangci-lint/v2/cmd/golangci-lint', version: 'v2.8.0', binary: 'golangci-lint' };

/**
 * hack/validate/golangci-lint's default GOLANGCI_LINT_OPTS is --timeout=10m,
 * "somewhat pessimistic" for the 4-vCPU runners moby's CI lints on, and the
 * script leaves it to each platform to set its own. The analysis is CPU-bound,
 * so the same allowance per core: 10m on 4 cores or more, 20m on 2.
 */
export function defaultLintOpts(cores = availableParallelism()): string {
  const CI_CORES = 4;
  return `--timeout=${Math.max(10, Math.ceil((10 * CI_CORES) / Math.max(1, cores)))}m`;
}

/** The exit codes of golangci-lint's pkg/exitcodes that mean something other than "issues found". */
const EXIT_TIMEOUT = 4;

const LintReport = z.object({
  Issues: z.array(
    z.object({
      FromLinter: z.string(),
      Text: z.string(),
      Pos: z.object({ Filename: z.string(), Line: z.number(), Column: z.number() }),
      SuggestedFixes: z.array(z.unknown()).optional().nullable(),
    }),
  ),
});
type LintIssue = z.infer<typeof LintReport>['Issues'][number];

/** The folders of the tree's go.mod files but man/ (it holds no Go code), as hack/validate/golangci-lint finds them. */
export async function lintedModules(dir: string): Promise<string[]> {
  const goMods = (await walkFiles(dir)).filter((file) => file === 'go.mod' || file.endsWith('/go.mod'));
  return goMods
    .map((file) => dirname(file))
    .filter((module) => !/(^|\/)man(\/|$)/.test(module))
    .sort();
}

/** DOCKER_BUILDTAGS, plus journald where libsystemd is there to build it, as the upstream script adds it. */
async function buildTags(env: Env): Promise<string> {
  const tags = (env.DOCKER_BUILDTAGS ?? '').split(/\s+/).filter(Boolean);
  const systemd = await run(['pkg-config', 'libsystemd'], { env }).catch(() => undefined);
  if (systemd?.exitCode === 0) tags.push('journald');
  return tags.join(' ');
}

/** The arguments of hack/validate/golangci-lint, with a JSON report on stdout instead of text. */
export async function golangciLintArgs(treeDir: string, env: Env, extra: readonly string[] = []): Promise<string[]> {
  const opts = (env.GOLANGCI_LINT_OPTS ?? defaultLintOpts()).split(/\s+/).filter(Boolean);
  return [
    'run',
    ...opts,
    `--build-tags=${await buildTags(env)}`,
    '--verbose',
    '--config',
    join(treeDir, '.golangci.yml'),
    '--output.json.path=stdout',
    '--show-stats=false',
    '--path-mode=abs',
    // Another validate's golangci-lint holds its lock on the shared cache: wait for it rather than fail.
    '--allow-serial-runners',
    ...extra,
  ];
}

/** GOGC=75 as upstream runs it, and the lint cache kept in the project's cache between runs (GOLANGCI_LINT_CACHE, when set, wins). */
export function golangciLintEnv(env: Env, cacheDir: string): Env {
  return { ...goEnv(env), GOGC: '75', GOLANGCI_LINT_CACHE: env.GOLANGCI_LINT_CACHE ?? join(cacheDir, 'golangci-lint') };
}

async function lintModule(context: CheckContext, module: string, extra: readonly string[]): Promise<LintIssue[]> {
  const binary = await context.installTool(GOLANGCI_LINT);
  const logFile = lintLog(context);
  const log = createWriteStream(logFile, { flags: 'a' });
  const args = await golangciLintArgs(context.tree.dir, context.env, extra);
  let result: RunResult;
  try {
    log.write(`\n# module ${module}: golangci-lint ${args.join(' ')}\n`);
    // Streamed, so a long run can be followed with tail -f; its JSON report ends up there too.
    result = await run([binary, ...args], {
      cwd: join(context.tree.dir, module),
      env: golangciLintEnv(context.env, context.cacheDir),
      signal: context.signal,
      log,
    });
  } finally {
    log.end();
  }
  if (result.exitCode === EXIT_TIMEOUT) {
    throw new UserError(
      `golangci-lint ran past its timeout on module ${module} (${context.env.GOLANGCI_LINT_OPTS ?? defaultLintOpts()})`,
      'Give it longer on a slow or busy machine, as moby does per platform: GOLANGCI_LINT_OPTS=--timeout=30m',
    );
  }
  const report = parseReport(result.stdout);
  if (!report || result.exitCode > 1) {
    throw new UserError(`golangci-lint failed on module ${module} (exit ${result.exitCode}): ${lastLine(errorLines(result.stderr))}`, `Its log: ${logFile}`);
  }
  return report.Issues;
}

function parseReport(stdout: string): z.infer<typeof LintReport> | undefined {
  const line = stdout.split('\n').find((candidate) => candidate.startsWith('{'));
  if (!line) return undefined;
  try {
    return LintReport.parse(JSON.parse(line));
  } catch {
    return undefined;
  }
}

/** golangci-lint --verbose logs a lot; the error is the last `level=error` line. */
function errorLines(stderr: string): string {
  return (
    stderr
      .split('\n')
      .filter((line) => line.includes('level=error') || line.startsWith('Error'))
      .join('\n') || stderr
  );
}

/** The issue's file relative to the tree (golangci-lint reports them relative to the module, or absolute with --path-mode=abs). */
function fileOf(context: CheckContext, module: string, issue: LintIssue): string {
  const file = isAbsolute(issue.Pos.Filename) ? issue.Pos.Filename : join(context.tree.dir, module, issue.Pos.Filename);
  return relative(context.tree.dir, file);
}

const lintLog = (context: CheckContext) => join(context.resultsDir, 'golangci-lint.log');

export const golangciLint: Check = async (context) => {
  const modules = await lintedModules(context.tree.dir);
  await writeFile(lintLog(context), '');
  if (!existsSync(join(context.tree.dir, '.golangci.yml')))
    throw new UserError(`${context.tree.dir} has no .golangci.yml`, "golangci-lint runs with the tree's own configuration.");
  const findings: Finding[] = [];
  const notes: string[] = [];
  for (const module of modules) {
    context.progress(`module ${module}`);
    let issues = await lintModule(context, module, []);
    if (context.fix) {
      const fixable = [...new Set(issues.filter((issue) => (issue.SuggestedFixes ?? []).length > 0).map((issue) => fileOf(context, module, issue)))];
      if (fixable.length > 0) {
        context.planFix(fixable);
        issues = await lintModule(context, module, ['--fix']);
        notes.push(`golangci-lint --fix changed ${fixable.length} file(s) in module ${module}`);
      }
    }
    findings.push(...issues.map((issue) => fileFinding(fileOf(context, module, issue), issue.Pos.Line, issue.Pos.Column, issue.Text, issue.FromLinter)));
  }
  notes.unshift(`${modules.length} module(s): ${modules.join(', ')}`);
  return { findings, notes };
};
