import type Docker from 'dockerode';
import { UserError } from '../core/errors.js';
import { bool, list, text, value, type CommandSpec, type FlagValues } from './args.js';
import { command, type Command, type Context } from './command.js';
import { request, type Daemon, type NotFound } from './daemon.js';
import { attachStdio } from './session.js';
import { parseEnvSetting, parseNonNegativeInteger, parsePublish, parseSize, parseVolume, type Publish } from './values.js';
import type { Env } from '../core/env.js';

const RUN_FLAGS = {
  detach: bool('Run the container in the background and print its ID', 'd'),
  interactive: bool('Keep STDIN open and forward it to the container', 'i'),
  tty: bool('Give the container a terminal (with -i: a raw, interactive session)', 't'),
  rm: bool('Remove the container when it exits'),
  name: value('string', 'Name the container', text),
  env: list('list', 'Set an environment variable (KEY=VALUE, or KEY to pass on its value from here)', parseEnvSetting, 'e'),
  volume: list('list', 'Mount a host folder or a named volume (SRC:DST[:ro])', (raw) => parseVolume(raw), 'v'),
  memory: value('bytes', 'Memory limit (e.g. 16m, 1g); above it the kernel kills the process (exit 137)', parseSize, 'm'),
  'cpu-shares': value('int', 'CPU shares: relative weight against other containers (default 1024)', parseNonNegativeInteger),
  publish: list('list', 'Publish a container port on the host ([IP:]HOST:CONTAINER[/udp])', parsePublish, 'p'),
  net: value('string', 'Connect the container to a network (bridge, host, none or a network of yours)', text),
};
type RunFlags = FlagValues<typeof RUN_FLAGS>;

export const RUN_SPEC: CommandSpec<typeof RUN_FLAGS> = {
  path: 'run',
  summary: 'Create and run a new container from an image',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  flags: RUN_FLAGS,
  operands: { min: 1, max: Infinity },
  flagsEndAtFirstOperand: true,
};

export const run: Command = command(RUN_SPEC, ({ flags, operands }, context) => runContainer(flags, operands, context));

/** The first seed's `start IMAGE [CMD…]`, kept: `run -d` under its old name. */
export const start: Command = command(
  { ...RUN_SPEC, path: 'start', summary: 'Create and start a container in the background (an alias of run -d)' },
  ({ flags, operands }, context) => runContainer({ ...flags, detach: true }, operands, context),
);

async function runContainer(flags: RunFlags, [image, ...cmd]: string[], context: Context): Promise<number> {
  const { daemon } = context;
  const attach = !flags.detach;
  if (attach && flags.interactive && flags.tty && !process.stdin.isTTY) {
    throw new UserError('the input device is not a TTY; drop -t to pipe input, or run mobicli from a terminal');
  }
  const options = createOptions(flags, image!, cmd, context.env);
  const container = await request(daemon, () => daemon.docker.createContainer(options), notFoundInRun(image!));
  if (!attach) {
    await startOrRemove(daemon, container, flags.rm);
    context.print(container.id);
    return 0;
  }
  return runAttached(daemon, container, flags);
}

function createOptions(flags: RunFlags, image: string, cmd: string[], env: Env): Docker.ContainerCreateOptions {
  const attach = !flags.detach;
  const ports = Object.fromEntries(flags.publish.map((p) => [portKey(p), {}]));
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of flags.publish) (bindings[portKey(p)] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort });
  const settings = flags.env.flatMap(({ key, value }) => {
    const resolved = value ?? env[key];
    return resolved === undefined ? [] : [`${key}=${resolved}`];
  });
  return {
    Image: image,
    ...(cmd.length > 0 ? { Cmd: cmd } : {}),
    ...(flags.name ? { name: flags.name } : {}),
    Env: settings,
    Tty: flags.tty,
    OpenStdin: flags.interactive,
    // As the docker CLI: an attached stdin closes the container's when it ends.
    StdinOnce: flags.interactive && attach,
    AttachStdin: flags.interactive && attach,
    AttachStdout: attach,
    AttachStderr: attach,
    ExposedPorts: ports,
    HostConfig: {
      Binds: flags.volume.map((v) => `${v.source}:${v.target}${v.readOnly ? ':ro' : ''}`),
      ...(flags.memory !== undefined ? { Memory: flags.memory } : {}),
      ...(flags['cpu-shares'] !== undefined ? { CpuShares: flags['cpu-shares'] } : {}),
      PortBindings: bindings,
      ...(flags.net ? { NetworkMode: flags.net } : {}),
      // Detached, only the daemon is left to remove it; attached, we do, after reading the exit code.
      AutoRemove: flags.rm && !attach,
    },
  };
}

const portKey = (p: Publish) => `${p.containerPort}/${p.protocol}`;

/** A 404 from create is either the image or the network. */
function notFoundInRun(image: string): NotFound {
  return (message) => (/no such image/i.test(message) ? { what: `no image ${image}`, fix: 'mobicli does not pull: import or build it first' } : undefined);
}

async function startOrRemove(daemon: Daemon, container: Docker.Container, rm: boolean): Promise<void> {
  try {
    await request(daemon, () => container.start());
  } catch (error) {
    if (rm) await container.remove({ force: true }).catch(() => undefined); // the start error is the one to report
    throw error;
  }
}

/** Streams the container's output (and our stdin with -i) until it exits; its exit code becomes ours. */
async function runAttached(daemon: Daemon, container: Docker.Container, flags: RunFlags): Promise<number> {
  let code: number;
  try {
    code = await streamUntilExit(daemon, container, flags);
  } catch (error) {
    if (flags.rm) await container.remove({ force: true }).catch(() => undefined); // the first failure is the one to report
    throw error;
  }
  // Removed by us rather than by the daemon (AutoRemove): the exit code must be read first.
  if (flags.rm) await request(daemon, () => container.remove({ force: true }));
  return code;
}

async function streamUntilExit(daemon: Daemon, container: Docker.Container, flags: RunFlags): Promise<number> {
  // Attached before start, so no early output is missed.
  const stream = await request(daemon, () => container.attach({ stream: true, stdin: flags.interactive, stdout: true, stderr: true, hijack: true }));
  const session = attachStdio(daemon.docker, stream, { stdin: flags.interactive, tty: flags.tty });
  const stopForwarding = flags.tty ? () => undefined : forwardSignals(container);
  try {
    await request(daemon, () => container.start());
    session.forwardResize((size) => container.resize(size));
    // After start the default condition (not-running) cannot miss an exit that came first.
    const [status] = await Promise.all([request(daemon, () => container.wait() as Promise<{ StatusCode: number }>), session.ended]);
    return status.StatusCode;
  } finally {
    stopForwarding();
    session.close();
    stream.end();
  }
}

const PROXIED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** docker's sig-proxy: without a terminal, Ctrl-C and kill reach the container's process, not just us. */
function forwardSignals(container: Docker.Container): () => void {
  const handlers = PROXIED_SIGNALS.map((signal) => {
    const handler = () => void container.kill({ signal }).catch(() => undefined); // it may have exited already
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
