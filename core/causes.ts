/**
 * Causes that are not the code's fault but read like a compiler failure in a
 * long log. Naming them in the one-line error saves a contributor from
 * digging through the log for "no space left on device".
 */
const KNOWN_CAUSES: ReadonlyArray<{ pattern: RegExp; cause: string }> = [
  { pattern: /no space left on device|ENOSPC/i, cause: 'the disk is full (no space left on device): free space, e.g. `go clean -cache`' },
  { pattern: /disk quota exceeded|EDQUOT/i, cause: 'the disk quota is exceeded' },
  { pattern: /cannot allocate memory|out of memory|ENOMEM/i, cause: 'the machine ran out of memory: try --jobs 1' },
  { pattern: /read-only file system|EROFS/i, cause: 'a folder it writes to is on a read-only file system' },
  { pattern: /too many open files|EMFILE/i, cause: 'too many open files: raise `ulimit -n`' },
  {
    pattern: /(dial tcp|lookup) [^\n]*(i\/o timeout|connection refused|no such host|network is unreachable)/i,
    cause: 'a download failed: the network or proxy is unreachable',
  },
];

/** SIGKILL with no other explanation is most often the kernel's out-of-memory killer. */
const SIGNAL_CAUSES: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: 'killed by SIGKILL, most often the out-of-memory killer: try --jobs 1',
};

/** The recognised cause in a failure's output (or its terminating signal), if any. */
export function knownCause(output: string, signal?: NodeJS.Signals): string | undefined {
  const fromOutput = KNOWN_CAUSES.find(({ pattern }) => pattern.test(output))?.cause;
  return fromOutput ?? (signal ? SIGNAL_CAUSES[signal] : undefined);
}
