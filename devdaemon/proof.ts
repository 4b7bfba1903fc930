import { realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UserError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { clientFor } from './client.js';
import { foreignPieces, type InfoCommits } from './commits.js';
import type { StateLayout } from './layout.js';
import { childrenOf, exeOf } from '../core/procfs.js';

/**
 * The proof that a started daemon runs the bundle: the commits dockerd reports
 * for runc, containerd and docker-init, and the binary its managed containerd
 * runs from. Also refuses a socket others could write to. Returns the reason
 * to stop the daemon, or undefined when all holds.
 */
export async function disproveBundle(layout: StateLayout, manifest: Manifest, bundleDir: string, dockerdPid: number): Promise<UserError | undefined> {
  const info = (await clientFor(layout.socket).info()) as InfoCommits;
  const foreign = foreignPieces(info, manifest);
  if (foreign.length > 0) {
    const lines = foreign.map((m) => `  ${m.piece}: dockerd reports ${m.reported}, the bundle's manifest says ${m.expected}`);
    return new UserError(
      `the daemon is not running the bundle's ${foreign.map((m) => m.piece).join(', ')}; stopped it:\n${lines.join('\n')}`,
      `A copy elsewhere on PATH or a system service won; check ${bundleDir} and \`npm run make\`.`,
    );
  }
  const containerd = managedContainerdExe(dockerdPid);
  const bundled = realpathSync(join(bundleDir, 'containerd'));
  if (containerd !== bundled) {
    return new UserError(`dockerd's containerd runs ${containerd ?? 'from nowhere we could see'}, not ${bundled}; stopped it`);
  }
  if ((statSync(layout.socket).mode & 0o002) !== 0) {
    return new UserError(`${layout.socket} is world-writable; stopped the daemon`);
  }
  return undefined;
}

/** The executable of the containerd dockerd started as its child. */
export function managedContainerdExe(dockerdPid: number): string | undefined {
  return childrenOf(dockerdPid)
    .map(exeOf)
    .find((exe) => exe !== undefined && basename(exe) === 'containerd');
}
