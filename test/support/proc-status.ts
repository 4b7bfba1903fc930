import { readFileSync } from 'node:fs';

/** A field of /proc/PID/status, split at whitespace (Uid: real, effective, saved, filesystem). */
export function statusField(pid: number, field: string): string[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line?.split(/\s+/).slice(1) ?? [];
}
