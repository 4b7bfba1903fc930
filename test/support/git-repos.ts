import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ResolveContext } from '../../builder/sources/resolver.js';

const identity = ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'init.defaultBranch=main'];

/** A repository on disk with a few commits and tags, driven by the real git. */
export class FixtureRepo {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.git('init', '-q');
  }

  git(...args: string[]): string {
    return execFileSync('git', [...identity, '-C', this.dir, ...args], { encoding: 'utf8' }).trim();
  }

  /** Writes files and commits them; returns the new commit. */
  commit(files: Record<string, string>, message = 'change'): string {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(this.dir, path, '..'), { recursive: true });
      writeFileSync(join(this.dir, path), text);
    }
    this.git('add', '-A');
    this.git('commit', '-qm', message);
    return this.git('rev-parse', 'HEAD');
  }

  /** An annotated tag, as upstream releases are; `force` moves an existing one. */
  tag(name: string, commit: string, force = false): void {
    this.git('tag', ...(force ? ['-f'] : []), '-a', '-m', name, name, commit);
  }

  get fileUrl(): string {
    return `file://${this.dir}`;
  }
}

/** A resolve context whose log is kept in memory for assertions. */
export function resolveContext(
  cacheDir: string,
  workDir: string,
  env: Record<string, string | undefined> = process.env,
): ResolveContext & { logText: () => string } {
  let text = '';
  const log = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { cacheDir, workDir, log, signal: new AbortController().signal, env, logText: () => text };
}
