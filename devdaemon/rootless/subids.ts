import { readFileSync } from 'node:fs';

/**
 * /etc/subuid and /etc/subgid give a user the ids newuidmap and newgidmap may
 * map into its namespace: container uid 0 is the user, 1..65536 come from here.
 * moby's images need the full 65536 (nobody is 65534).
 */
export const SUBID_FILES = { uid: '/etc/subuid', gid: '/etc/subgid' } as const;
export const RANGE_SIZE = 65536;
const FIRST_START = 100000;

export interface SubidRange {
  owner: string;
  start: number;
  count: number;
}

export function parseSubids(text: string): SubidRange[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(':'))
    .filter((fields) => fields.length === 3 && /^\d+$/.test(fields[1] ?? '') && /^\d+$/.test(fields[2] ?? ''))
    .map(([owner = '', start = '0', count = '0']) => ({ owner, start: Number(start), count: Number(count) }));
}

export function readSubids(file: string): SubidRange[] {
  try {
    return parseSubids(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

/** Entries name the user by login or by uid. */
export function hasRange(ranges: readonly SubidRange[], name: string, uid: number | undefined): boolean {
  return ranges.some((range) => (range.owner === name || (uid !== undefined && range.owner === String(uid))) && range.count >= RANGE_SIZE);
}

/** Above every entry in either file and at least 100000, as useradd allocates them. */
export function freeRange(taken: readonly SubidRange[]): { start: number; end: number } {
  const start = taken.reduce((end, range) => Math.max(end, range.start + range.count), FIRST_START);
  return { start, end: start + RANGE_SIZE - 1 };
}

/** What is missing for the user: which of the two files lacks a range. */
export function missingSubids(name: string, uid: number | undefined): Array<keyof typeof SUBID_FILES> {
  return (['uid', 'gid'] as const).filter((kind) => !hasRange(readSubids(SUBID_FILES[kind]), name, uid));
}

/** `usermod --add-subuids S-E --add-subgids S-E NAME` for the kinds that are missing. */
export function usermodArgv(name: string, kinds: ReadonlyArray<keyof typeof SUBID_FILES>): string[] {
  const { start, end } = freeRange([...readSubids(SUBID_FILES.uid), ...readSubids(SUBID_FILES.gid)]);
  const range = `${start}-${end}`;
  return ['usermod', ...kinds.flatMap((kind) => [kind === 'uid' ? '--add-subuids' : '--add-subgids', range]), name];
}
