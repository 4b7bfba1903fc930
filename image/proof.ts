import Docker from 'dockerode';
import { UserError } from '../core/errors.js';
import type { Manifest } from '../core/manifest.js';
import { foreignPieces, type InfoCommits } from '../devdaemon/commits.js';
import type { ImageManifest } from './build.js';

export type ProofEvent = { type: 'proved'; proof: ImageProof };

export interface ImageProof {
  kernel: string;
  cgroupVersion: string;
  serverVersion: string;
  /** What the container printed. */
  output: string;
  seconds: { ping: number; info: number; container: number };
}

/**
 * As the dev daemon is proven: `/_ping`, then `/info` saying the guest's
 * kernel is the image's, cgroup v2, and the bundle's runc, containerd and
 * docker-init; then a container of `image` runs and prints.
 */
export async function proveImage(socket: string, image: ImageManifest, daemonManifest: Manifest, runImage: string): Promise<ImageProof> {
  const docker = new Docker({ socketPath: socket });
  const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    const started = performance.now();
    const value = await work();
    return [value, (performance.now() - started) / 1000];
  };
  const [, ping] = await timed(() => docker.ping());
  const [info, infoSeconds] = await timed(
    async () => (await docker.info()) as InfoCommits & { KernelVersion?: string; CgroupVersion?: string; ServerVersion?: string },
  );
  if (info.KernelVersion !== image.kernel.release) {
    throw new UserError(
      `the guest's dockerd reports kernel ${info.KernelVersion}, the image holds ${image.kernel.release}`,
      'Rebuild the image: npm run image',
    );
  }
  if (info.CgroupVersion !== '2')
    throw new UserError(`the guest's dockerd reports cgroup v${info.CgroupVersion}, the image's init mounts v2`, "Read the guest's console log.");
  const foreign = foreignPieces(info, daemonManifest);
  if (foreign.length > 0) {
    throw new UserError(
      `the guest's dockerd runs pieces that are not the bundle's: ${foreign.map((m) => `${m.piece} ${m.reported} (bundle: ${m.expected})`).join(', ')}`,
      'Rebuild the image from the current bundle: npm run image',
    );
  }
  const marker = 'moby-make image proof';
  const [output, container] = await timed(async () => {
    const created = await docker.createContainer({ Image: runImage, Cmd: ['echo', marker], HostConfig: { AutoRemove: false } });
    try {
      await created.start();
      await created.wait();
      return demuxed(await created.logs({ stdout: true, stderr: true, follow: false })).trim();
    } finally {
      await created.remove({ force: true });
    }
  });
  if (output !== marker)
    throw new UserError(
      `a ${runImage} container in the guest printed ${JSON.stringify(output)}, not ${JSON.stringify(marker)}`,
      "Read the guest's console log.",
    );
  return {
    kernel: info.KernelVersion,
    cgroupVersion: info.CgroupVersion,
    serverVersion: info.ServerVersion ?? '',
    output,
    seconds: { ping, info: infoSeconds, container },
  };
}

/** A container's logs without a TTY: frames of an 8-byte header (stream, 0, 0, 0, length) and the bytes. */
function demuxed(logs: Buffer): string {
  const parts: Buffer[] = [];
  for (let at = 0; at + 8 <= logs.length;) {
    const length = logs.readUInt32BE(at + 4);
    parts.push(logs.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
  return Buffer.concat(parts).toString();
}
