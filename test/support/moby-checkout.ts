import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { MOBY } from '../../components/lib/moby.js';

const goModCache = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();

/** A contributor's moby checkout: the pinned module's source (from the module cache) committed into a git repository. */
export function mobyCheckout(checkout: string, message: string): { git: (...args: string[]) => string; head: string } {
  cpSync(join(goModCache, `${MOBY.module}@${MOBY.release.version}`), checkout, { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', checkout]); // the module cache is read-only
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', checkout, '-c', 'user.email=dev@example.com', '-c', 'user.name=dev', ...args], { encoding: 'utf8' }).trim();
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', message);
  return { git, head: git('rev-parse', 'HEAD') };
}
