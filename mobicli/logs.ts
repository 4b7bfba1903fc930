import { bool } from './args.js';
import { command } from './command.js';
import { request } from './daemon.js';
import { noContainer } from './each.js';

export const logs = command(
  {
    path: 'logs',
    summary: "Fetch a container's output",
    usage: '[OPTIONS] CONTAINER',
    flags: { follow: bool('Keep streaming new output until the container stops', 'f') },
    operands: { min: 1, max: 1 },
  },
  async ({ flags, operands: [name] }, { daemon }) => {
    const container = daemon.docker.getContainer(name!);
    // A container with a terminal logs one raw stream; without, stdout and stderr frames.
    const { Config } = await request(daemon, () => container.inspect(), noContainer(name!));
    const write = (chunk: Buffer) => {
      if (Config.Tty) process.stdout.write(chunk);
      else writeFrames(chunk);
    };
    if (!flags.follow) {
      write(await request(daemon, () => container.logs({ stdout: true, stderr: true, follow: false })));
      return 0;
    }
    const stream = await request(daemon, () => container.logs({ stdout: true, stderr: true, follow: true }));
    await new Promise<void>((resolve, reject) => {
      if (Config.Tty) stream.on('data', write);
      else daemon.docker.modem.demuxStream(stream, process.stdout, process.stderr);
      stream.once('end', resolve);
      stream.once('error', reject);
    });
    return 0;
  },
);

/** The multiplexed format: an 8-byte header (stream, size) before each frame. */
function writeFrames(buffer: Buffer): void {
  for (let offset = 0; offset + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(offset + 4);
    const frame = buffer.subarray(offset + 8, offset + 8 + size);
    (buffer[offset] === 2 ? process.stderr : process.stdout).write(frame);
    offset += 8 + size;
  }
}
