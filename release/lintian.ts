import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import { run } from '../core/process.js';

export type LintianSeverity = 'error' | 'warning' | 'info' | 'pedantic' | 'experimental' | 'classification' | 'mask';

export interface LintianFinding {
  severity: LintianSeverity;
  tag: string;
  detail: string;
}

const SEVERITIES: Record<string, LintianSeverity> = { E: 'error', W: 'warning', I: 'info', P: 'pedantic', X: 'experimental', C: 'classification', M: 'mask' };

/**
 * lintian's findings on one .deb, overrides applied (the package ships them
 * with their reasons). An error-level tag is a package Debian would refuse,
 * so it fails the release; warnings and infos are shown.
 */
export async function lintian(deb: string, env: Env): Promise<LintianFinding[]> {
  const result = await run(['lintian', '--no-tag-display-limit', deb], { env: { ...env, LC_ALL: 'C.UTF-8' } });
  const findings = parseLintian(result.stdout);
  // lintian exits non-zero for errors found as well as for failing to run; only the latter prints no finding.
  if (result.exitCode !== 0 && findings.length === 0) {
    throw new UserError(`lintian could not check ${deb}: ${(result.stderr.trim() || result.stdout.trim()).split('\n').pop() ?? ''}`);
  }
  const errors = findings.filter((finding) => finding.severity === 'error');
  if (errors.length > 0) {
    throw new UserError(
      `lintian finds errors in ${deb}: ${errors.map((finding) => `${finding.tag} ${finding.detail}`.trim()).join('; ')}`,
      'Fix the package layout in release/layout.ts or release/deb.ts.',
    );
  }
  return findings;
}

export function parseLintian(output: string): LintianFinding[] {
  return output.split('\n').flatMap((line) => {
    const match = /^([EWIPXCM]): [^:\s]+(?: [^:\s]+)?: (\S+)\s*(.*)$/.exec(line);
    const severity = match?.[1] ? SEVERITIES[match[1]] : undefined;
    return match && severity ? [{ severity, tag: match[2] ?? '', detail: match[3] ?? '' }] : [];
  });
}
