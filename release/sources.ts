import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { moduleDownload } from '../core/daemon-source.js';
import type { Env } from '../core/env.js';
import { UserError } from '../core/errors.js';
import type { SourceRecord } from '../core/manifest.js';
import { run } from '../core/process.js';

/** A component's verified source tree as the bundle recorded it, and when it was committed. */
export interface ReleaseSource {
  dir: string;
  commitTime: Date;
}

/**
 * Finds the tree a bundle's component was built from by what its manifest
 * recorded: the module cache (fetched and verified by `go mod download`
 * when missing), the contributor's checkout, or make's cached checkout of a
 * pinned commit. The packages take unit files and licenses from it, so they
 * match the binaries' source, not whatever is checked out now.
 */
export async function releaseSource(component: string, source: SourceRecord, env: Env, cacheDir: string): Promise<ReleaseSource> {
  switch (source.kind) {
    case 'module': {
      const download = await moduleDownload(`${source.origin.module}@${source.origin.version}`, env);
      const info = download.Info ? ((JSON.parse(await readFile(download.Info, 'utf8')) as { Time?: string }).Time ?? '') : '';
      return { dir: download.Dir, commitTime: commitTimeOr(info, component) };
    }
    case 'path':
      return { dir: source.origin.dir, commitTime: await gitCommitTime(source.origin.dir, component, env) };
    case 'git': {
      const dir = join(cacheDir, 'git', source.commit ?? '');
      if (!source.commit || !existsSync(dir)) {
        throw new UserError(
          `${component}'s checkout (git ${source.commit ?? source.version}) is no longer in ${join(cacheDir, 'git')}`,
          'Run npm run make to fetch it again.',
        );
      }
      return { dir, commitTime: await gitCommitTime(dir, component, env) };
    }
    case 'debian-source':
      throw new UserError(
        `${component} comes from a Debian source package (${source.origin.package} ${source.origin.version}), which release packaging takes no files from`,
        'Take the file from the bundle instead (release/layout.ts).',
      );
  }
}

async function gitCommitTime(dir: string, component: string, env: Env): Promise<Date> {
  const logged = await run(['git', '-C', dir, 'log', '-1', '--format=%cI'], { env });
  return commitTimeOr(logged.stdout.trim(), component);
}

function commitTimeOr(text: string, component: string): Date {
  const time = new Date(text);
  if (!text || Number.isNaN(time.getTime()))
    throw new UserError(`${component}'s source records no commit time`, 'Set SOURCE_DATE_EPOCH to the time the release is of.');
  return time;
}
