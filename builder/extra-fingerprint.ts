import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extraSourcePlaceholder, type Step } from './recipes/steps.js';
import type { ResolvedSource } from './model.js';

/**
 * What an extra tree puts into a component's cache key. A local checkout's
 * identity changes with every edit anywhere in it, yet a component that only
 * copies files from it (rootlesskit takes the rootless scripts from
 * DAEMON_SRC) depends on those files alone: their digest stands in for the
 * tree's identity, so an edit of dockerd's code leaves that component up to
 * date. A tree the steps use any other way keeps its full identity, as do
 * pinned trees, whose identity never moves.
 */
export async function extraFingerprint(name: string, extra: ResolvedSource, steps: readonly Step[]): Promise<string> {
  const placeholder = extraSourcePlaceholder(name);
  const copied = steps.flatMap((step) => (step.kind === 'copy' && step.from.startsWith(`${placeholder}/`) ? [step.from.slice(placeholder.length + 1)] : []));
  const otherUse = steps.some((step) => step.kind !== 'copy' && JSON.stringify(step).includes(placeholder));
  if (extra.kind !== 'path' || otherUse) return extra.identity;
  const digest = createHash('sha256');
  for (const path of [...new Set(copied)].sort()) {
    // A missing file gets a digest of its own; the copy step then fails and says which.
    const content = await readFile(join(extra.dir, path)).catch(() => undefined);
    digest.update(`\0${path}\0${content ? createHash('sha256').update(content).digest('hex') : 'missing'}`);
  }
  return `copied files ${digest.digest('hex')}`;
}
