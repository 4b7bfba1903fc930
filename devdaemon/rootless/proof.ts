import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { exeOf } from '../../core/procfs.js';
import { clientFor } from '../client.js';
import type { StateLayout } from '../layout.js';

/**
 * On top of the rootful proof (commits, containerd's binary): dockerd says it
 * runs rootless, and the rootlesskit that holds its namespaces is the bundle's.
 */
export async function disproveRootless(layout: StateLayout, bundleDir: string, rootlesskitPid: number): Promise<UserError | undefined> {
  const info = (await clientFor(layout.socket).info()) as { SecurityOptions?: string[] };
  const options = info.SecurityOptions ?? [];
  if (!options.includes('name=rootless')) {
    return new UserError(`dockerd does not report name=rootless in its security options (${options.join(', ')}); stopped it`);
  }
  const bundled = realpathSync(join(bundleDir, 'rootlesskit'));
  const running = exeOf(rootlesskitPid);
  if (running !== bundled) return new UserError(`rootlesskit runs ${running ?? 'from nowhere we could see'}, not ${bundled}; stopped it`);
  return undefined;
}

/** The default bridge dockerd made inside rootlesskit's network namespace (it exists nowhere on the host). */
export async function namespaceBridge(layout: StateLayout): Promise<{ bridge: string; subnet: string }> {
  const network = (await clientFor(layout.socket).getNetwork('bridge').inspect()) as {
    Options?: Record<string, string>;
    IPAM?: { Config?: Array<{ Subnet?: string }> };
  };
  return { bridge: network.Options?.['com.docker.network.bridge.name'] ?? 'docker0', subnet: network.IPAM?.Config?.[0]?.Subnet ?? '' };
}
