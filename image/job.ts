import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../core/errors.js';
import { launchForJob, type BootOptions } from './qemu.js';

/** The 9p tags image/init looks for (init/job.go). */
const ROOT_TAG = 'moby-make-root';
const JOB_TAG = 'moby-make-job';
const SHARED_TAG = 'moby-make-rw';
/** A folder on the guest's own /run tmpfs (init/job.go makes it). */
const GUEST_TMPDIR = '/run/moby-make-tmp';

/**
 * A command of this machine's, run inside the guest on the guest's kernel:
 * the guest sees this machine's root read-only through 9p, under an overlay
 * whose writes stay in guest memory, so the command finds every tool,
 * checkout and cache it would find here.
 */
export interface GuestJob {
  /** An absolute program path and its arguments, as on this machine. */
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  dir: string;
  /**
   * Folders the job writes into where overlayfs cannot be the writable layer
   * (dockerd's data roots): a tmpfs in the guest, with this machine's entries
   * visible in it except `fresh`, which start empty.
   */
  scratch: ReadonlyArray<{ path: string; fresh: readonly string[] }>;
  /** Folders of this machine the job writes through to, read-write (its caches: what it makes there stays for the next run). */
  shared: readonly string[];
  /** Folders whose files come back here at the end, replacing what was there: the job's results. */
  copyBack: readonly string[];
  /** Files larger than this stay in the guest (images and layers are not results). */
  copyLimitBytes: number;
}

export interface JobOutcome {
  exitCode: number;
  /** Files copied back into `copyBack`'s folders. */
  copied: number;
}

/** The job folder's files, moved into place: each copy-back folder is replaced whole, as the job left it in the guest. */
async function moveBack(copyRoot: string, folders: readonly string[]): Promise<number> {
  let moved = 0;
  const count = async (dir: string): Promise<number> => {
    let files = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) files += entry.isDirectory() ? await count(join(dir, entry.name)) : 1;
    return files;
  };
  for (const folder of folders) {
    const copied = join(copyRoot, folder);
    if (!existsSync(copied)) continue;
    moved += await count(copied);
    await rm(folder, { recursive: true, force: true });
    await mkdir(dirname(folder), { recursive: true });
    await rename(copied, folder);
  }
  return moved;
}

/**
 * Boots the image with this machine's root and a job folder shared, runs
 * the job, streams its output (both streams, as it writes them) to
 * `onOutput`, and moves its results back. An abort (Ctrl-C) gives the job
 * SIGTERM in the guest and a minute before power-off.
 */
export async function runGuestJob(options: BootOptions & { job: GuestJob; onOutput: (line: string) => void }): Promise<JobOutcome> {
  const jobDir = join(options.runDir, 'job');
  await rm(jobDir, { recursive: true, force: true });
  await mkdir(jobDir, { recursive: true });
  const { job } = options;
  if (!job.argv[0]?.startsWith('/')) throw new UserError(`a guest job needs an absolute program path, not ${job.argv[0] ?? 'nothing'}`);
  for (const path of job.shared) await mkdir(path, { recursive: true });
  await writeFile(
    join(jobDir, 'job.json'),
    `${JSON.stringify({
      root: ROOT_TAG,
      argv: job.argv,
      // Temporary files stay in guest memory: this machine's /tmp is seen read-only, with the page cache of a share whose files this machine may rewrite meanwhile.
      env: Object.entries({ ...job.env, TMPDIR: GUEST_TMPDIR }).map(([name, value]) => `${name}=${value}`),
      dir: job.dir,
      scratch: job.scratch,
      shared: job.shared.map((path, index) => ({ path, tag: `${SHARED_TAG}${index}` })),
      copyBack: job.copyBack,
      copyLimit: job.copyLimitBytes,
    })}\n`,
  );
  const launched = await launchForJob(
    options,
    [
      // Read-only: the guest can read this machine's files, never change them; multidevs keeps inode numbers of different mounts apart.
      ['-virtfs', `local,path=/,mount_tag=${ROOT_TAG},security_model=none,readonly=on,multidevs=remap`],
      ['-virtfs', `local,path=${jobDir},mount_tag=${JOB_TAG},security_model=none`],
      ...job.shared.map((path, index) => ['-virtfs', `local,path=${path},mount_tag=${SHARED_TAG}${index},security_model=none,multidevs=remap`]),
      ['-netdev', 'user,id=net0', '-device', 'virtio-net-pci,netdev=net0'],
    ].flat(),
  );
  const outputLog = join(jobDir, 'output.log');
  const exitFile = join(jobDir, 'exit-code');
  let offset = 0;
  let partial = '';
  const drain = async () => {
    if (!existsSync(outputLog)) return;
    const { size } = await stat(outputLog);
    if (size <= offset) return;
    const stream = createReadStream(outputLog, { start: offset, end: size - 1 });
    for await (const chunk of stream as AsyncIterable<Buffer>) partial += chunk.toString();
    offset = size;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) options.onOutput(line);
  };
  let interrupted = false;
  const onAbort = () => {
    interrupted = true;
    void launched.powerOff();
  };
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      await drain();
      if (existsSync(exitFile)) break;
      const failure = launched.failure();
      if (failure) {
        if (interrupted) break;
        throw failure;
      }
      await sleep(200);
    }
    await drain();
    if (partial) options.onOutput(partial);
    // Its init powers the guest off once the exit code is written; only a guest that does not gets Ctrl-Alt-Del.
    await Promise.race([launched.exited, sleep(15_000)]);
    await launched.powerOff();
    const exitCode = existsSync(exitFile) ? Number(readFileSync(exitFile, 'utf8').trim()) : 130;
    const copied = await moveBack(join(jobDir, 'copy'), job.copyBack);
    return { exitCode, copied };
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    await launched.powerOff();
  }
}
