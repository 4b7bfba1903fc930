import { existsSync, readFileSync } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { lastLine, run } from '../../core/process.js';
import { missingSubids, SUBID_FILES, usermodArgv } from '../../devdaemon/rootless/subids.js';
import { octal } from '../../devdaemon/rootless/tun.js';

/** Where moby's dev container keeps the source (its WORKDIR) and what its Dockerfile puts at fixed paths. */
export const DEV_SOURCE = '/usr/src/moby';
export const DEV_FROZEN_IMAGES = '/docker-frozen-images';
export const DEV_CLI = '/usr/local/cli';
export const DEV_CLI_INTEGRATION = '/usr/local/cli-integration';
export const DEV_BUILDX_PLUGIN = '/usr/local/libexec/docker/cli-plugins/docker-buildx';

/**
 * One change the tests' namespace makes so that it looks like moby's dev
 * container; planned outside (plan.ts), carried out inside in this order
 * before the test daemon starts. Every change is to the namespace's own
 * mounts: the host sees none of them.
 */
export type LayoutStep =
  /** A root of the namespace's own (a tmpfs holding binds of the host's top-level entries), so new top-level folders can exist. */
  | { kind: 'own-root'; folders: readonly string[] }
  /** An overlay on `target` with `layers` above its own content and a tmpfs for writes, which go with the namespace. */
  | { kind: 'overlay'; target: string; layers: readonly string[] }
  | { kind: 'bind'; source: string; target: string; readOnly: boolean }
  /** The Dockerfile's COPY from the tree (into an overlaid folder, so tests may change what it wrote). */
  | { kind: 'copy'; source: string; target: string }
  /** A link the module zip dropped (Go module zips keep no symlinks). */
  | { kind: 'symlink'; path: string; target: string }
  /** Files starting with `#!` made executable (module zips keep no modes). */
  | { kind: 'scripts-executable'; dir: string }
  /** A group and a user of the dev stage (groupadd -r docker; useradd --create-home --gid docker unprivilegeduser). */
  | { kind: 'user'; name: string; group: string }
  | { kind: 'securityfs' }
  | { kind: 'ldconfig' }
  /**
   * /dev/net/tun openable by everyone (Debian's udev mode) in the namespace
   * alone: a node of our own bound over the host's, whose mode stays as it is.
   * Rootless daemons open it as the unprivileged user.
   */
  /** A device node of the namespace's own, with the mode Debian's udev gives it, bound over the host's (when the host has the device). */
  | { kind: 'device-mode'; path: string; major: number; minor: number; mode: number; why: string }
  /** A file of the namespace's own (in an overlaid folder). */
  | { kind: 'file'; path: string; content: string };

/** Carries out the steps, reporting each; a step that fails is an error naming it. */
export async function layOutDevContainer(steps: readonly LayoutStep[], onStep: (text: string) => void): Promise<void> {
  for (const step of steps) {
    onStep(describeStep(step));
    await carryOut(step);
  }
}

export function describeStep(step: LayoutStep): string {
  switch (step.kind) {
    case 'own-root':
      return `a root of the namespace's own, with ${step.folders.join(', ')}`;
    case 'overlay':
      return step.layers.length > 0 ? `${step.target}: the dev container's packages laid over it` : `${step.target}: writes kept in the namespace`;
    case 'bind':
      return `${step.target} ← ${step.source}${step.readOnly ? ' (read-only)' : ''}`;
    case 'symlink':
      return `${step.path} → ${step.target}`;
    case 'copy':
      return `${step.target} ← a copy of ${step.source}`;
    case 'scripts-executable':
      return `scripts in ${step.dir} made executable`;
    case 'user':
      return `user ${step.name} (group ${step.group})`;
    case 'securityfs':
      return 'securityfs on /sys/kernel/security (hack/dind)';
    case 'ldconfig':
      return 'ldconfig';
    case 'file':
      return `${step.path} written`;
    case 'device-mode':
      return `${step.path} mode ${octal(step.mode)} (a node of the namespace's): ${step.why}`;
  }
}

async function carryOut(step: LayoutStep): Promise<void> {
  switch (step.kind) {
    case 'own-root':
      return ownRoot(step.folders);
    case 'overlay':
      return overlay(step.target, step.layers);
    case 'bind':
      await mkdir(step.target, { recursive: true });
      await must(['mount', '--rbind', step.source, step.target], `binding ${step.source} at ${step.target}`);
      if (step.readOnly) await must(['mount', '-o', 'remount,bind,ro', step.target], `making ${step.target} read-only`);
      return;
    case 'copy':
      await mkdir(step.target.endsWith('/') ? step.target : dirname(step.target), { recursive: true });
      return must(['cp', '-a', `${step.source}${step.source.endsWith('/') ? '.' : ''}`, step.target], `copying ${step.source} to ${step.target}`);
    case 'symlink':
      if (await lstat(step.path).catch(() => undefined)) return;
      await mkdir(dirname(step.path), { recursive: true });
      await symlink(step.target, step.path);
      return;
    case 'scripts-executable':
      return makeScriptsExecutable(step.dir);
    case 'user':
      return addUser(step.name, step.group);
    case 'device-mode':
      return deviceMode(step);
    case 'file':
      await mkdir(dirname(step.path), { recursive: true });
      return writeFile(step.path, step.content, { mode: 0o440 });
    case 'securityfs':
      if (!existsSync('/sys/kernel/security') || (await run(['mountpoint', '-q', '/sys/kernel/security'])).exitCode === 0) return;
      await run(['mount', '-t', 'securityfs', 'securityfs', '/sys/kernel/security']); // as in hack/dind, a failure only weakens AppArmor detection
      return;
    case 'ldconfig':
      return must(['ldconfig'], 'ldconfig over the dev container’s libraries');
  }
}

async function must(argv: readonly string[], what: string): Promise<void> {
  const result = await run(argv);
  if (result.exitCode !== 0) throw new UserError(`laying out the dev container: ${what} failed: ${lastLine(result.stderr) || `exit ${result.exitCode}`}`);
}

/** Where the namespace's own root is put together before it becomes `/`. */
const NEW_ROOT = '/run/mmk-root';
const OLD_ROOT = '.mmk-old-root';

/**
 * moby's harness wants /docker-frozen-images, a folder the host's / must not
 * gain. The namespace's / becomes a tmpfs holding a bind of every top-level
 * entry of the host's (links as links), plus the new folders; a stray write
 * to / itself goes to that tmpfs.
 */
async function ownRoot(folders: readonly string[]): Promise<void> {
  // pivot_root refuses shared mounts; the namespace's mounts are shared again once it is done (as on a systemd host).
  await must(['mount', '--make-rprivate', '/'], 'making the namespace’s mounts private');
  await mkdir(NEW_ROOT, { recursive: true });
  await must(['mount', '-t', 'tmpfs', '-o', 'mode=0755', 'mmk-root', NEW_ROOT], `a tmpfs at ${NEW_ROOT}`);
  for (const name of await readdir('/')) {
    const from = join('/', name);
    const to = join(NEW_ROOT, name);
    const stats = await lstat(from);
    if (stats.isSymbolicLink()) await symlink(await readlink(from), to);
    else if (stats.isDirectory()) {
      await mkdir(to);
      await must(['mount', '--rbind', from, to], `binding ${from} into the namespace's root`);
    } else {
      await (await open(to, 'w')).close();
      await must(['mount', '--bind', from, to], `binding ${from} into the namespace's root`);
    }
  }
  // /run's bind holds the new root itself: that copy goes.
  await must(['umount', '-l', join(NEW_ROOT, NEW_ROOT)], 'dropping the nested root');
  for (const folder of folders) await mkdir(join(NEW_ROOT, folder), { recursive: true });
  await mkdir(join(NEW_ROOT, OLD_ROOT));
  await must(['pivot_root', NEW_ROOT, join(NEW_ROOT, OLD_ROOT)], 'pivot_root into the namespace’s root');
  process.chdir('/');
  await must(['umount', '-l', `/${OLD_ROOT}`], 'letting go of the old root');
  await run(['rmdir', `/${OLD_ROOT}`]);
  await must(['mount', '--make-rshared', '/'], 'sharing the namespace’s mounts again');
}

let overlays = 0;

/** Submounts under `target` are bound again on top, since an overlay shows only the folder's own file system. */
async function overlay(target: string, layers: readonly string[]): Promise<void> {
  overlays += 1;
  const work = `/run/mmk-dev/${overlays}`;
  const below = join(work, 'below');
  await mkdir(below, { recursive: true });
  await must(['mount', '--rbind', target, below], `keeping ${target}'s own mounts`);
  const submounts = mountsUnder(target);
  await mkdir(join(work, 'upper'), { recursive: true });
  await mkdir(join(work, 'work'), { recursive: true });
  const lower = [...layers, target].join(':');
  await must(
    ['mount', '-t', 'overlay', `mmk-dev-${overlays}`, '-o', `lowerdir=${lower},upperdir=${join(work, 'upper')},workdir=${join(work, 'work')}`, target],
    `an overlay on ${target}`,
  );
  for (const mount of submounts) {
    await mkdir(mount, { recursive: true });
    await must(['mount', '--rbind', join(below, mount.slice(target.length)), mount], `binding ${mount} again over the overlay`);
  }
}

/** The mount points strictly below `target`, outermost first, from /proc/self/mountinfo. */
function mountsUnder(target: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => (line.split(' ')[4] ?? '').replace(/\\040/g, ' '))
    .filter((point) => point.startsWith(`${target}/`));
  const unique = [...new Set(points)].sort((a, b) => a.length - b.length);
  // Only the topmost ones: an rbind brings what is below them along.
  return unique.filter((point, index) => !unique.slice(0, index).some((outer) => point.startsWith(`${outer}/`)));
}

async function makeScriptsExecutable(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    const handle = await open(file, 'r');
    const head = Buffer.alloc(2);
    try {
      await handle.read(head, 0, 2, 0);
    } finally {
      await handle.close();
    }
    if (head.toString() === '#!') await chmod(file, 0o755);
  }
}

async function addUser(name: string, group: string): Promise<void> {
  const has = (file: string, entry: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .some((line) => line.startsWith(`${entry}:`));
  if (!has('/etc/group', group)) await must(['groupadd', '-r', group], `groupadd ${group}`);
  if (!has('/etc/passwd', name)) await must(['useradd', '--create-home', '--gid', group, name], `useradd ${name}`);
  // useradd gives ranges only where /etc/subuid exists; rootless daemons need them (newuidmap).
  for (const file of Object.values(SUBID_FILES)) if (!existsSync(file)) await writeFile(file, ''); // usermod refuses to create them
  const missing = missingSubids(name, undefined);
  if (missing.length > 0) await must(usermodArgv(name, missing), `subordinate ids for ${name}`);
}

/** Under the namespace's own root (a tmpfs), so neither the node nor its folder exists on the host. */
const PRIVATE_DEVICES = '/.moby-make-devices';

async function deviceMode(step: Extract<LayoutStep, { kind: 'device-mode' }>): Promise<void> {
  if (!existsSync(step.path)) return;
  const node = join(PRIVATE_DEVICES, step.path.replaceAll('/', '_'));
  await mkdir(PRIVATE_DEVICES, { recursive: true });
  if (!existsSync(node)) await must(['mknod', '-m', octal(step.mode), node, 'c', String(step.major), String(step.minor)], `mknod ${node}`);
  await must(['mount', '--bind', node, step.path], `binding ${node} over ${step.path}`);
}
