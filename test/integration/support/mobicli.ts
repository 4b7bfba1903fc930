import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';
import { overlaps, readRoutes } from '../../../devdaemon/network.js';
import { projectRoot } from '../../../tasks/paths.js';
import type { CliResult } from '../../support/cli.js';

export const MOBICLI_BIN = join(projectRoot, 'bin', 'mobicli.js');

export const dockerHost = () => `unix://${inject('devDaemonSocket')}`;

export interface RunOptions {
  /** Replaces DOCKER_HOST=the test daemon; undefined values unset. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed; without it stdin is empty. */
  input?: string;
}

/** The package.json bin, run as npm would link it. */
export function mobicli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const env = withEnv(options.env ?? { DOCKER_HOST: dockerHost() });
  return new Promise((resolve, reject) => {
    const child = spawn(MOBICLI_BIN, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(options.input ?? '');
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function withEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...overrides };
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete env[key];
  return env;
}

/** A running process whose output is read as it comes. */
export interface Live {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  /** Resolves once the output matches, rejects when the process ends first or after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  exited: Promise<number | null>;
  write(text: string): void;
}

export function live(command: string, args: string[]): Live {
  const child = spawn(command, args, { env: withEnv({ DOCKER_HOST: dockerHost() }), stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  let ended = false;
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve)).finally(() => (ended = true));
  return {
    child,
    output: () => output,
    exited,
    write: (text) => child.stdin.write(text),
    async waitFor(pattern, ms = 20_000) {
      for (const deadline = Date.now() + ms; !pattern.test(output); await sleep(25)) {
        if (ended) throw new Error(`${command} ended before printing ${pattern}; output:\n${output}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${ms} ms; output:\n${output}`);
      }
    },
  };
}

const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * mobicli ARGS on a pseudo-terminal of util-linux `script`, sized 33x77, with
 * our pipe as the keyboard. It first prints PTY=/dev/pts/N so a test can resize it.
 */
export function onTerminal(args: string[]): Live {
  const command = ['stty rows 33 cols 77', 'echo PTY=$(tty)', `exec ${[MOBICLI_BIN, ...args].map(shellQuote).join(' ')}`].join('; ');
  return live('script', ['-qfec', command, '/dev/null']);
}

/** A 192.168.x.0/24 no route on this machine overlaps (the seed's 192.168.10.0/24 first). */
export function freeSubnet(): { subnet: string; prefix: string } {
  const routes = readRoutes();
  for (let third = 10; third < 255; third += 1) {
    const candidate = { network: ((192 << 24) | (168 << 16) | (third << 8)) >>> 0, mask: 0xffffff00 };
    if (!routes.some((route) => overlaps(route, candidate))) return { subnet: `192.168.${third}.0/24`, prefix: `192.168.${third}.` };
  }
  throw new Error('every 192.168.x.0/24 is routed here');
}
