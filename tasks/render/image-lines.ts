import type { LineFormats } from '../../core/events.js';
import type { ImageBuildEvent } from '../../image/build.js';
import type { ProofEvent } from '../../image/proof.js';
import type { FrozenImageEvent } from '../../testrunner/frozen-images/index.js';
import type { BootEvent } from '../../image/qemu.js';
import { frozenImageLines } from './frozen-image-lines.js';

const MiB = 1024 * 1024;

export type ImageCommandEvent = FrozenImageEvent | ImageBuildEvent | BootEvent | ProofEvent;

/** `npm run image`: the kernel chosen, the frozen images it carries, built or unchanged; then the boot and the proof. */
export const imageLines: LineFormats<ImageCommandEvent> = {
  ...frozenImageLines,
  kernel: (event) => `kernel: ${event.package} ${event.version}${event.requested !== event.package ? ` (from ${event.requested})` : ''}`,
  unchanged: (event) => `${event.dir}: up to date (key ${event.key.slice(0, 16)})`,
  built: (event) =>
    `${event.dir}: kernel, initrd.img (${(event.initrdBytes / MiB).toFixed(0)} MiB, ${event.files} entries), cmdline in ${event.seconds.toFixed(1)}s`,
  accelerator: (event) => `accelerator: ${event.accelerator} — ${event.reason}`,
  booting: (event) => `booting; the guest's console: ${event.console}`,
  ready: (event) =>
    `ready in ${event.seconds.toFixed(1)}s${Number.isFinite(event.guestSeconds) ? ` (${event.guestSeconds}s of guest uptime)` : ''}: export DOCKER_HOST=unix://${event.socket}`,
  proved: (event) =>
    `proved: kernel ${event.proof.kernel}, cgroup v${event.proof.cgroupVersion}, the bundle's runc, containerd and docker-init; a container printed "${event.proof.output}" (ping ${event.proof.seconds.ping.toFixed(2)}s, container ${event.proof.seconds.container.toFixed(1)}s)`,
  'powering-off': () => "powering off: the guest's init stops what it runs (a minute and a half at most)",
  'powered-off': (event) => `powered off in ${event.seconds.toFixed(1)}s${event.clean ? '' : ' (forced: the guest did not power off by itself)'}`,
};
