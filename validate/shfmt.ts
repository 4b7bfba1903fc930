import type { GoTool } from '../core/go-tools.js';
import { UserError } from '../core/errors.js';
import { lastLine, run } from '../core/process.js';
import type { Check, CheckContext } from './context.js';
import { parseUnifiedDiff } from './diff.js';
import { filesWithShebangLine } from './files.js';
import { fileFinding, type Finding } from './model.js';

/** hack/validate/shfmt at moby's SHFMT_VERSION. */
export const SHFMT: GoTool = { pkg: 'mvdan.cc/sh/v3/cmd/shfmt', version: 'v3.8.0', binary: 'shfmt' };
export const SHFMT_FLAGS = ['-bn', '-ci', '-sr'];

/** hack/validate/shfmt's `egrep -v`: files that match `^#!` but are not shell. */
const NOT_SHELL = /(vendor|\.go|Jenkinsfile|\.py|\.bats)/;

/** `file:line:col: message`, as shfmt reports a script it cannot parse. */
const PARSE_ERROR = /^(.+?):(\d+):(\d+): (.+)$/;

async function shfmt(context: CheckContext, args: readonly string[]) {
  const binary = await context.installTool(SHFMT);
  return run([binary, ...args], { cwd: context.tree.dir, env: context.env, signal: context.signal });
}

/** What `shfmt -d` says of the files: one finding per differing hunk, and parse errors as shfmt words them. */
async function unformatted(context: CheckContext, files: readonly string[]): Promise<Finding[]> {
  const result = await shfmt(context, ['-d', ...SHFMT_FLAGS, ...files]);
  if (result.exitCode === 0) return [];
  const findings: Finding[] = parseUnifiedDiff(result.stdout).flatMap(({ path, changeStarts }) =>
    changeStarts.map((line) => fileFinding(path.replace(/\.orig$/, ''), line, 1, `not formatted as shfmt ${SHFMT_FLAGS.join(' ')} formats it`, 'shfmt')),
  );
  for (const line of result.stderr.split('\n')) {
    const parsed = PARSE_ERROR.exec(line);
    if (parsed?.[1] && parsed[4]) findings.push(fileFinding(parsed[1], Number(parsed[2]), Number(parsed[3]), parsed[4], 'shfmt'));
  }
  if (findings.length === 0) throw new UserError(`shfmt -d failed: ${lastLine(result.stderr) || lastLine(result.stdout)}`);
  return findings;
}

export const shfmtCheck: Check = async (context) => {
  const files = (await filesWithShebangLine(context.tree, context.env)).filter((file) => !NOT_SHELL.test(file));
  const findings = await unformatted(context, files);
  const notes = [`${files.length} shell script(s)`];
  if (!context.fix || findings.length === 0) return { findings, notes };
  const touched = [...new Set(findings.filter(({ message }) => message.startsWith('not formatted')).map(({ at }) => (at.kind === 'file' ? at.file : '')))];
  context.planFix(touched);
  const written = await shfmt(context, ['-w', ...SHFMT_FLAGS, ...touched]);
  if (written.exitCode !== 0) throw new UserError(`shfmt -w failed: ${lastLine(written.stderr)}`);
  return { findings: await unformatted(context, files), notes: [...notes, `shfmt -w reformatted ${touched.length} file(s)`] };
};
