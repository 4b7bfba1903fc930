import { isLoopback } from '../../core/loopback.js';
import { UserError } from '../../core/errors.js';

export type Command = 'start' | 'status' | 'stop' | 'reload';
const COMMANDS: readonly Command[] = ['start', 'status', 'stop', 'reload'];

export interface DevDaemonArgs {
  command: Command;
  detach: boolean;
  help: boolean;
  stateDir?: string;
  bundlesDir?: string;
  logFile?: string;
  /** Output mode (tasks/render/choose.ts). */
  output?: string;
  /** Seconds `stop` waits for dockerd before SIGKILL. */
  stopTimeout?: number;
  /** Run it without root (dockerd-rootless.sh); for status/stop/reload, picks the rootless default state folder. */
  rootless: boolean;
  /** The account a rootless daemon runs as (root only). */
  user?: string;
  /** Never apt-get, create users or change the machine: print the commands instead. */
  noInstall: boolean;
  /** Rebuild and restart on every edit of a local source tree (tasks/lib/dev-loop.ts). */
  watch: boolean;
  /** Dynamic binaries for the loop's builds (moby's dynbinary). */
  dynamic: boolean;
  /** Run a debug build of dockerd under delve listening here (or $DELVE_PORT). */
  debugPort?: string;
  /** Everything that is not ours goes to dockerd unchanged. */
  dockerdArgs: string[];
}

const VALUE_OPTIONS: Record<string, 'stateDir' | 'bundlesDir' | 'logFile' | 'stopTimeout' | 'output' | 'user' | 'debugPort'> = {
  '--user': 'user',
  '--debug-port': 'debugPort',
  '--state': 'stateDir',
  '--bundles': 'bundlesDir',
  '--log-file': 'logFile',
  '--stop-timeout': 'stopTimeout',
  '--output': 'output',
};

/**
 * `[command] [our options] [dockerd flags…] [-- dockerd flags…]`. The command
 * must come first because dockerd flag values (`--log-level debug`) look like
 * words too; after a bare `--` nothing is ours.
 */
export function parseDevDaemonArgs(argv: readonly string[]): DevDaemonArgs {
  const args: DevDaemonArgs = {
    command: 'start',
    detach: false,
    help: false,
    rootless: false,
    noInstall: false,
    watch: false,
    dynamic: false,
    dockerdArgs: [],
  };
  let rest = [...argv];
  if (rest[0] && COMMANDS.includes(rest[0] as Command)) {
    args.command = rest[0] as Command;
    rest = rest.slice(1);
  }
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i] as string;
    if (arg === '--') {
      args.dockerdArgs.push(...rest.slice(i + 1));
      break;
    }
    const [flag, inline] = splitInline(arg);
    const key = VALUE_OPTIONS[flag];
    if (key) {
      const value = inline ?? rest[++i];
      if (value === undefined || value === '') throw new UserError(`${flag} needs a value`);
      if (key === 'stopTimeout') {
        const seconds = Number(value);
        if (!Number.isFinite(seconds) || seconds <= 0) throw new UserError(`--stop-timeout ${value} is not a positive number of seconds`);
        args.stopTimeout = seconds;
      } else args[key] = value;
    } else if (arg === '--detach') args.detach = true;
    else if (arg === '--rootless') args.rootless = true;
    else if (arg === '--no-install') args.noInstall = true;
    else if (arg === '--watch') args.watch = true;
    else if (arg === '--dynamic') args.dynamic = true;
    else if (arg === '--help' || arg === '-h') args.help = true;
    else if (arg === '--verbose')
      continue; // read by runMain
    else args.dockerdArgs.push(arg);
  }
  if (args.command !== 'start' && args.dockerdArgs.length > 0) {
    throw new UserError(`\`${args.command}\` takes no dockerd flags (got ${args.dockerdArgs.join(' ')})`);
  }
  if (args.user !== undefined && !args.rootless) throw new UserError('--user only applies with --rootless', 'Add --rootless, or leave out --user.');
  if (args.watch && args.detach)
    throw new UserError('--watch runs in the foreground; it cannot --detach', 'Leave out --detach (Ctrl-C stops the watch and the daemon).');
  checkDockerdArgs(args.dockerdArgs);
  return args;
}

function splitInline(arg: string): [string, string | undefined] {
  const eq = arg.indexOf('=');
  return arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
}

/** Flags that would point the daemon at shared system state; the dev daemon owns them. */
const RESERVED: Record<string, string> = {
  '--data-root': 'the data root is <state>/root',
  '-g': 'the data root is <state>/root',
  '--exec-root': 'the exec root is <state>/exec',
  '--pidfile': 'the pidfile is <state>/docker.pid',
  '-p': 'the pidfile is <state>/docker.pid',
  '--containerd': 'dockerd runs its own containerd from the bundle under <state>/exec',
  '--bridge': 'the dev daemon creates its own bridge',
  '-b': 'the dev daemon creates its own bridge',
  '--bip': 'the dev daemon picks its own bridge subnet',
};

const HOST_FLAGS = new Set(['-H', '--host']);

/** Refuses flags that break isolation, and TCP listeners that would hand out root unauthenticated. */
export function checkDockerdArgs(dockerdArgs: readonly string[]): void {
  for (const arg of dockerdArgs) {
    const [flag] = splitInline(arg);
    const reason = RESERVED[flag];
    if (reason) throw new UserError(`${flag} cannot be passed to the dev daemon: ${reason}`, 'Use --state DIR to put the whole daemon somewhere else.');
  }
  const tlsVerify = dockerdArgs.some((a) => a === '--tlsverify' || a === '--tlsverify=true');
  for (const host of hostsOf(dockerdArgs)) checkHost(host, tlsVerify);
}

/** Values of -H/--host in every spelling dockerd accepts (-H x, -H=x, -Hx, --host x, --host=x). */
export function hostsOf(dockerdArgs: readonly string[]): string[] {
  const hosts: string[] = [];
  for (let i = 0; i < dockerdArgs.length; i += 1) {
    const arg = dockerdArgs[i] as string;
    if (HOST_FLAGS.has(arg)) {
      const value = dockerdArgs[i + 1];
      if (value !== undefined) hosts.push(value);
      i += 1;
    } else if (arg.startsWith('--host=')) hosts.push(arg.slice('--host='.length));
    else if (arg.startsWith('-H')) hosts.push(arg.slice(2).replace(/^=/, ''));
  }
  return hosts;
}

function checkHost(host: string, tlsVerify: boolean): void {
  if (host.startsWith('unix://')) {
    const path = host.slice('unix://'.length);
    if (path === '' || /^\/(var\/)?run\/docker\.sock$/.test(path)) {
      throw new UserError(`-H ${host}: that is the system Docker socket; the dev daemon always listens on <state>/docker.sock`);
    }
    return;
  }
  if (!host.startsWith('tcp://')) {
    throw new UserError(`-H ${host}: the dev daemon listens on unix:// or tcp:// addresses only`);
  }
  const address = host.slice('tcp://'.length).replace(/\/.*$/, '');
  const hostname = address.startsWith('[') ? address.slice(1, address.indexOf(']')) : address.replace(/:\d*$/, '');
  if (!isLoopback(hostname) && !tlsVerify) {
    throw new UserError(
      `-H ${host}: a TCP listener beyond loopback without TLS gives root on this machine to anyone who can reach it`,
      'Listen on tcp://127.0.0.1:PORT, or add --tlsverify --tlscacert … --tlscert … --tlskey ….',
    );
  }
}
