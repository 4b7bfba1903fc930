import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Env } from '../core/env.js';
import { InterruptedError, UserError } from '../core/errors.js';
import { freePort } from '../core/free-port.js';
import type { Listener } from '../core/events.js';
import { ensureRequirements, type InstallPolicy } from '../core/requirements.js';
import { GUEST } from './build.js';

export type Accelerator = 'kvm' | 'tcg';

export type BootEvent =
  | { type: 'installing'; packages: readonly string[] }
  | { type: 'accelerator'; accelerator: Accelerator; reason: string }
  | { type: 'booting'; console: string }
  | { type: 'ready'; socket: string; seconds: number; guestSeconds: number }
  | { type: 'powering-off' }
  | { type: 'powered-off'; seconds: number; clean: boolean };

const QEMU = 'qemu-system-x86_64';
const READY = 'moby-make-image: ready';
const FAILED = 'moby-make-image: failed:';
const KVM_PROBE_DEADLINE_MS = 8000;
/**
 * x86-64-v2 under emulation, not `max`: QEMU 7.2 (Debian 12's) is the first
 * release that emulates AVX and AVX2, which node uses when the CPU offers
 * them, and node once died of SIGSEGV in the guest under `max` (a run of
 * the same command passed next); without them node takes its older paths.
 */
const TCG_CPU = 'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16';

export interface BootOptions {
  dir: string;
  /** Where the run's console log, sockets and pid file live (bundles/image-run). */
  runDir: string;
  memoryMiB: number;
  cpus: number;
  cacheDir: string;
  install: InstallPolicy;
  env: Env;
  signal: AbortSignal;
  onEvent: Listener<BootEvent>;
  /** How long the guest may take to say it is ready. */
  deadlineMs?: number;
}

export interface RunningImage {
  /** dockerd's API on this machine: a unix socket, proxied to the guest's forward. */
  socket: string;
  consoleLog: string;
  accelerator: Accelerator;
  /** Ctrl-Alt-Del to the guest (its init stops the services and powers off), then quit, then SIGKILL. */
  powerOff: () => Promise<void>;
  exited: Promise<number | null>;
}

/**
 * KVM is trusted only after a kernel booted under it printed its banner in
 * time: here /dev/kvm opens and KVM_CREATE_VM succeeds, yet a guest spins
 * forever (nested virtualization). The answer is kept per host boot.
 */
export async function chooseAccelerator(kernel: string, cacheDir: string, env: Env): Promise<{ accelerator: Accelerator; reason: string }> {
  if (env.MOBY_MAKE_IMAGE_ACCEL === 'tcg') return { accelerator: 'tcg', reason: 'MOBY_MAKE_IMAGE_ACCEL=tcg' };
  if (!existsSync('/dev/kvm')) return { accelerator: 'tcg', reason: 'no /dev/kvm: emulation (TCG)' };
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const cache = join(cacheDir, 'kvm-probe.json');
  if (existsSync(cache)) {
    const kept = JSON.parse(readFileSync(cache, 'utf8')) as { bootId: string; accelerator: Accelerator; reason: string };
    if (kept.bootId === bootId) return { accelerator: kept.accelerator, reason: `${kept.reason} (probed earlier since this machine booted)` };
  }
  const child = spawn(
    QEMU,
    ['-accel', 'kvm', '-cpu', 'host', '-m', '256', '-nographic', '-no-reboot', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const banner = new Promise<boolean>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Linux version')) resolve(true);
    });
    child.on('exit', () => resolve(output.includes('Linux version')));
    setTimeout(() => resolve(false), KVM_PROBE_DEADLINE_MS);
  });
  const works = await banner;
  child.kill('SIGKILL');
  const answer = works
    ? { accelerator: 'kvm' as const, reason: 'KVM: a probe kernel printed its banner' }
    : { accelerator: 'tcg' as const, reason: `KVM does not run a guest here (no kernel banner within ${KVM_PROBE_DEADLINE_MS / 1000}s): emulation (TCG)` };
  await mkdir(cacheDir, { recursive: true });
  await writeFile(cache, JSON.stringify({ bootId, ...answer }));
  return answer;
}

/** The guest's dockerd, as a unix socket here: each connection goes to the loopback port QEMU forwards to the guest. */
async function socketProxy(socket: string, port: number): Promise<Server> {
  await rm(socket, { force: true });
  // Half-open both ways: `docker run` closes its side of an attach after stdin and still reads the output.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return server;
}

async function monitor(path: string, command: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const conn = connect(path, () => conn.end(`${command}\n`));
    conn.on('error', () => resolve());
    conn.on('close', () => resolve());
    conn.resume();
  });
}

/** A QEMU of an earlier run that was killed before it could power off (its pid file is still there): it goes first. */
async function stopLeftover(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const cmdline = Number.isInteger(pid) && existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
  if (cmdline.startsWith(`${QEMU}\0`)) {
    process.kill(pid, 'SIGKILL');
    while (existsSync(`/proc/${pid}`)) await sleep(50);
  }
  await rm(pidFile, { force: true });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
}

interface Launched {
  child: ChildProcess;
  exited: Promise<number | null>;
  consoleLog: string;
  accelerator: Accelerator;
  /** QEMU's last words, for errors. */
  stderr: () => string;
  /** Ctrl-Alt-Del through the monitor (the guest's init stops what it runs and powers off), then quit, then SIGKILL; `cleanUp` runs after. */
  powerOff: (cleanUp?: () => Promise<void>) => Promise<void>;
}

/** The accelerator a boot of this image will use (QEMU installed first: the probe boots it). */
export async function acceleratorFor(
  options: Pick<BootOptions, 'dir' | 'cacheDir' | 'env' | 'install'>,
): Promise<{ accelerator: Accelerator; reason: string }> {
  await ensureRequirements([{ kind: 'command', command: QEMU, aptPackage: 'qemu-system-x86', why: 'booting the image' }], options.install);
  return chooseAccelerator(join(options.dir, 'kernel'), options.cacheDir, options.env);
}

/** QEMU with the image: the accelerator the probe chose, the console to a file, a monitor socket, and whatever else the caller adds. */
async function launch(options: BootOptions, extraArgs: readonly string[]): Promise<Launched> {
  const { onEvent, runDir } = options;
  const { accelerator, reason } = await acceleratorFor(options);
  onEvent({ type: 'accelerator', accelerator, reason });
  await mkdir(runDir, { recursive: true });
  const consoleLog = join(runDir, 'console.log');
  const monitorSocket = join(runDir, 'monitor.sock');
  const pidFile = join(runDir, 'qemu.pid');
  await stopLeftover(pidFile);
  await rm(consoleLog, { force: true });
  await rm(monitorSocket, { force: true });
  const cmdline = readFileSync(join(options.dir, 'cmdline'), 'utf8').trim();
  const child = spawn(
    QEMU,
    [
      ...(accelerator === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', TCG_CPU]),
      ['-m', String(options.memoryMiB)],
      ['-smp', String(options.cpus)],
      ['-nographic', '-no-reboot', '-display', 'none'],
      ['-kernel', join(options.dir, 'kernel'), '-initrd', join(options.dir, 'initrd.img'), '-append', cmdline],
      ['-serial', `file:${consoleLog}`, '-monitor', `unix:${monitorSocket},server=on,wait=off`],
      ...extraArgs,
    ].flat(),
    // Its own process group: a terminal's Ctrl-C reaches this process, which powers the guest off cleanly, not QEMU, which would just quit.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = exitOf(child);
  await writeFile(pidFile, `${child.pid}\n`);
  onEvent({ type: 'booting', console: consoleLog });
  let stopped = false;
  const powerOff = async (cleanUp?: () => Promise<void>) => {
    if (stopped) return;
    stopped = true;
    const begun = Date.now();
    let clean = true;
    if (child.exitCode === null && child.signalCode === null) {
      onEvent({ type: 'powering-off' });
      await monitor(monitorSocket, 'sendkey ctrl-alt-delete');
      clean = await Promise.race([exited.then(() => true), sleep(90_000).then(() => false)]);
      if (!clean) {
        await monitor(monitorSocket, 'quit');
        if (!(await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]))) child.kill('SIGKILL');
        await exited;
      }
    }
    await cleanUp?.();
    await rm(monitorSocket, { force: true });
    await rm(pidFile, { force: true });
    onEvent({ type: 'powered-off', seconds: (Date.now() - begun) / 1000, clean });
  };
  return { child, exited, consoleLog, accelerator, stderr: () => stderr, powerOff };
}

/** What the guest's console says when its init gave up, or QEMU when it is gone: an error either way. */
function bootFailure(launched: Launched, text: string): UserError | undefined {
  const failed = text.split('\n').find((line) => line.startsWith(FAILED));
  if (failed) return new UserError(`the image's init failed: ${failed.slice(FAILED.length).trim()}`, `Read the guest's console: ${launched.consoleLog}`);
  if (launched.child.exitCode !== null || launched.child.signalCode !== null) {
    return new UserError(
      `${QEMU} exited early: ${launched.stderr().trim().split('\n').pop() || text.trim().split('\n').pop() || 'no output'}`,
      `Read the guest's console: ${launched.consoleLog}`,
    );
  }
  return undefined;
}

/** Boots the image and waits for its init to say the services are up (dockerd answering, images loaded). */
export async function bootImage(options: BootOptions): Promise<RunningImage> {
  const started = Date.now();
  const { onEvent, runDir } = options;
  const socket = join(runDir, 'docker.sock');
  const port = await freePort();
  // The user-mode network forwards from this machine's loopback only; the guest's forward takes connections from QEMU's gateway alone.
  const launched = await launch(options, [
    '-netdev',
    `user,id=net0,hostfwd=tcp:127.0.0.1:${port}-${GUEST.address}:${GUEST.dockerPort}`,
    '-device',
    'virtio-net-pci,netdev=net0',
  ]);
  let proxy: Server | undefined;
  const powerOff = () =>
    launched.powerOff(async () => {
      if (proxy) await new Promise((resolve) => proxy?.close(resolve));
      await rm(socket, { force: true });
    });
  try {
    const deadline = started + (options.deadlineMs ?? 300_000);
    for (;;) {
      if (options.signal.aborted) throw new InterruptedError();
      const text = existsSync(launched.consoleLog) ? readFileSync(launched.consoleLog, 'utf8') : '';
      if (text.split('\n').some((line) => line.trim() === READY)) {
        const uptime = /since the kernel started/.test(text) ? Number(/(\d+)s since the kernel started/.exec(text)?.[1]) : NaN;
        proxy = await socketProxy(socket, port);
        onEvent({ type: 'ready', socket, seconds: (Date.now() - started) / 1000, guestSeconds: uptime });
        return { socket, consoleLog: launched.consoleLog, accelerator: launched.accelerator, powerOff, exited: launched.exited };
      }
      const failure = bootFailure(launched, text);
      if (failure) throw failure;
      if (Date.now() > deadline)
        throw new UserError(`the image was not ready within ${(options.deadlineMs ?? 300_000) / 1000}s`, `Read the guest's console: ${launched.consoleLog}`);
      await sleep(100);
    }
  } catch (error) {
    await powerOff();
    throw error;
  }
}

/** QEMU for a guest job (job.ts): no service is awaited; the caller watches the job folder, and `failure` says when the guest or QEMU gave up. */
export async function launchForJob(
  options: BootOptions,
  extraArgs: readonly string[],
): Promise<{ powerOff: () => Promise<void>; failure: () => UserError | undefined; exited: Promise<number | null> }> {
  const launched = await launch(options, extraArgs);
  return {
    exited: launched.exited,
    powerOff: () => launched.powerOff(),
    failure: () => bootFailure(launched, existsSync(launched.consoleLog) ? readFileSync(launched.consoleLog, 'utf8') : ''),
  };
}
