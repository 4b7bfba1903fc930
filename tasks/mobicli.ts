import Docker from 'dockerode';
import { UserError } from '../core/errors.js';
import { defaultStateDir, dockerHostOf, stateLayout } from '../devdaemon/layout.js';
import { runMain } from './cli/run-main.js';
import { defaultBundlesDir } from './paths.js';
import type { Env } from '../core/env.js';

const HELP = `Usage: mobicli ps
       mobicli start <image> [--name NAME] [cmd…]   (-- before a cmd that has its own --name)
       mobicli stop <name|id>

A small client for the daemon API. It talks to $DOCKER_HOST, or to the dev
daemon's socket (npm run dev-daemon) when DOCKER_HOST is unset.`;

/** $DOCKER_HOST as the docker CLI reads it (dockerode does), else the dev daemon's socket. */
function connect(env: Env): { docker: Docker; where: string } {
  if (env.DOCKER_HOST) return { docker: new Docker(), where: env.DOCKER_HOST };
  const layout = stateLayout(defaultStateDir(defaultBundlesDir(env), env));
  return { docker: new Docker({ socketPath: layout.socket }), where: dockerHostOf(layout) };
}

/** Every failure is one line: what happened, where, and for a dead daemon how to start one. */
function explain(error: unknown, where: string, subject?: string): UserError {
  const code = (error as { code?: string; statusCode?: number }).code;
  const status = (error as { statusCode?: number }).statusCode;
  if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ECONNRESET' || code === 'EACCES') {
    return new UserError(`cannot reach a Docker daemon at ${where} (${code}); start one with: npm run dev-daemon -- --detach`);
  }
  if (status === 404 && subject) return new UserError(subject);
  const json = (error as { json?: { message?: string } }).json;
  const message = json?.message ?? (error instanceof Error ? error.message : String(error));
  return new UserError(message.split('\n')[0] ?? message);
}

async function ps(docker: Docker): Promise<void> {
  const rows = (await docker.listContainers()).map((c) => [c.Id.slice(0, 12), c.Image, (c.Names[0] ?? '').replace(/^\//, ''), c.Status]);
  const table = [['CONTAINER ID', 'IMAGE', 'NAME', 'STATUS'], ...rows];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  for (const row of table)
    console.log(
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('   ')
        .trimEnd(),
    );
}

interface StartArgs {
  image: string;
  name?: string;
  cmd: string[];
}

function parseStart(args: readonly string[]): StartArgs {
  const rest: string[] = [];
  let name: string | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] as string;
    if (arg === '--') {
      rest.push(...args.slice(i + 1));
      break;
    }
    if (arg === '--name') name = args[++i];
    else if (arg.startsWith('--name=')) name = arg.slice('--name='.length);
    else rest.push(arg);
    if (name === '') throw new UserError('--name needs a value');
  }
  if (name === undefined && args.includes('--name')) throw new UserError('--name needs a value');
  const [image, ...cmd] = rest;
  if (!image) throw new UserError('start needs an image: mobicli start <image> [cmd…] [--name NAME]');
  return { image, cmd, ...(name ? { name } : {}) };
}

async function start(docker: Docker, args: StartArgs): Promise<void> {
  const container = await docker.createContainer({
    Image: args.image,
    ...(args.cmd.length > 0 ? { Cmd: args.cmd } : {}),
    ...(args.name ? { name: args.name } : {}),
  });
  await container.start();
  console.log(container.id.slice(0, 12));
}

async function stop(docker: Docker, name: string): Promise<void> {
  try {
    await docker.getContainer(name).stop();
    console.log(name);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 304) throw error;
    console.log(`${name} (was not running)`);
  }
}

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP);
    return command ? 0 : 2;
  }
  const { docker, where } = connect(process.env);
  switch (command) {
    case 'ps':
      await ps(docker).catch((error: unknown) => Promise.reject(explain(error, where)));
      return 0;
    case 'start': {
      const parsed = parseStart(args);
      await start(docker, parsed).catch((error: unknown) =>
        Promise.reject(explain(error, where, `no image ${parsed.image} on the daemon at ${where} (mobicli does not pull)`)),
      );
      return 0;
    }
    case 'stop': {
      const [name, ...extra] = args;
      if (!name || extra.length > 0) throw new UserError('stop takes one container name or id: mobicli stop <name>');
      await stop(docker, name).catch((error: unknown) => Promise.reject(explain(error, where, `no container named ${name} on the daemon at ${where}`)));
      return 0;
    }
    default:
      throw new UserError(`unknown command ${command}; mobicli knows ps, start and stop`);
  }
}

await runMain(main);
