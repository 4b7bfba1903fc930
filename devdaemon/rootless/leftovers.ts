import { readlinkSync } from 'node:fs';
import { allPids, running } from '../../core/procfs.js';

function userNamespaceOf(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/user`);
  } catch {
    return undefined;
  }
}

/**
 * rootlesskit runs dockerd, containerd, the shims and every container in a
 * user namespace of its own; after a crash the shims and containers live on
 * there with no command line that names the state folder. Every process in a
 * namespace one of ours (found by command line) lives in is ours too. The
 * machine's own namespace is never one of them.
 */
export function namespaceMates(ours: readonly number[]): number[] {
  const initial = new Set([userNamespaceOf(1), userNamespaceOf('self')]);
  const namespaces = new Set(ours.map(userNamespaceOf).filter((ns): ns is string => ns !== undefined && !initial.has(ns)));
  if (namespaces.size === 0) return [];
  return allPids().filter((pid) => !ours.includes(pid) && running(pid) && namespaces.has(userNamespaceOf(pid) ?? ''));
}
