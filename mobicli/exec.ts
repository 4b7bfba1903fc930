import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../core/errors.js';
import { bool } from './args.js';
import { command } from './command.js';
import { request } from './daemon.js';
import { noContainer } from './each.js';
import { attachStdio } from './session.js';

export const exec = command(
  {
    path: 'exec',
    summary: 'Run a command in a running container',
    usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
    flags: { interactive: bool('Keep STDIN open and forward it to the command', 'i'), tty: bool('Give the command a terminal', 't') },
    operands: { min: 2, max: Infinity },
    flagsEndAtFirstOperand: true,
  },
  async ({ flags, operands: [name, ...cmd] }, { daemon }) => {
    if (flags.interactive && flags.tty && !process.stdin.isTTY) {
      throw new UserError('the input device is not a TTY; drop -t to pipe input, or run mobicli from a terminal');
    }
    const container = daemon.docker.getContainer(name!);
    const created = await request(
      daemon,
      () => container.exec({ Cmd: cmd, AttachStdin: flags.interactive, AttachStdout: true, AttachStderr: true, Tty: flags.tty }),
      noContainer(name!),
    );
    const stream = await request(daemon, () => created.start({ hijack: true, stdin: flags.interactive, Tty: flags.tty }));
    const session = attachStdio(daemon.docker, stream, { stdin: flags.interactive, tty: flags.tty });
    try {
      session.forwardResize((size) => created.resize(size));
      await session.ended;
    } finally {
      session.close();
    }
    return exitCode(() => request(daemon, () => created.inspect()));
  },
);

/** The stream can close a moment before the daemon has recorded the exit code. */
async function exitCode(inspect: () => Promise<{ Running: boolean; ExitCode: number | null }>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const state = await inspect();
    if (!state.Running && state.ExitCode !== null) return state.ExitCode;
    await sleep(20);
  }
  throw new UserError('the command ended but the daemon reported no exit code within 1 s');
}
