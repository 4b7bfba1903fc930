import { existsSync, readFileSync } from 'node:fs';
import { UserError } from '../core/errors.js';
import { run } from '../core/process.js';
import type { DaemonMode } from './modes.js';

function readNumber(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/**
 * What the kernel must give a mode, checked before anything compiles: a mode
 * this machine cannot run is one line naming the fix, not an hour of tests
 * failing for one reason.
 */
export async function checkModeHere(mode: DaemonMode, graphDriver: string): Promise<void> {
  const needsUserNamespaces = mode.rootless || mode.remapRoot !== undefined;
  if (needsUserNamespaces && readNumber('/proc/sys/user/max_user_namespaces') === 0) {
    throw new UserError(`mode ${mode.name} needs user namespaces, and user.max_user_namespaces is 0`, 'As root: sysctl -w user.max_user_namespaces=15000');
  }
  if (mode.rootless) {
    if (readNumber('/proc/sys/kernel/unprivileged_userns_clone') === 0) {
      throw new UserError(
        'mode rootless: unprivileged users may not create user namespaces (kernel.unprivileged_userns_clone=0)',
        'As root: sysctl -w kernel.unprivileged_userns_clone=1',
      );
    }
    if (!existsSync('/dev/net/tun')) {
      throw new UserError("mode rootless: there is no /dev/net/tun, which rootlesskit's network driver needs", 'As root: modprobe tun');
    }
  }
  if (mode.firewallBackend === 'nftables') {
    // In a network namespace of its own, so the probe touches no rule of the host's.
    const probe = await run(['unshare', '--net', 'nft', 'add', 'table', 'inet', 'moby_make_probe']);
    if (probe.exitCode !== 0) {
      throw new UserError(`mode nftables: this kernel refuses nftables (${probe.stderr.trim().split('\n')[0] ?? ''})`, 'As root: modprobe nf_tables');
    }
  }
  if (graphDriver === 'overlay2' || graphDriver === 'overlayfs') {
    const filesystems = readFileSync('/proc/filesystems', 'utf8');
    if (!/\toverlay$/m.test(filesystems))
      throw new UserError(`DOCKER_GRAPHDRIVER=${graphDriver}: this kernel has no overlay filesystem`, 'As root: modprobe overlay');
  }
}
