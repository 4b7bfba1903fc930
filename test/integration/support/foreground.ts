import { spawn, type ChildProcess } from 'node:child_process';
import { projectRoot, taskArgv } from '../../../tasks/paths.js';

export interface Foreground {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first output line matching, or rejects when the process ends first. */
  waitFor(pattern: RegExp): Promise<string>;
  exited: Promise<number | null>;
}

/** `npm run dev-daemon -- ARGS` in the foreground, as a contributor runs it (its npm script's command, no TTY). */
export function foregroundDevDaemon(args: string[], env: Record<string, string> = {}): Foreground {
  const [command, ...rest] = taskArgv('dev-daemon', ...args);
  const child = spawn(command, rest, {
    cwd: projectRoot,
    env: { ...process.env, CI: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  let ended = false;
  void exited.then(() => {
    ended = true;
    for (const listener of listeners) listener();
  });
  return {
    child,
    output: () => output,
    exited,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const line = output.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) {
            listeners.delete(check);
            resolve(line);
          } else if (ended) {
            listeners.delete(check);
            reject(new Error(`dev-daemon ended before printing ${pattern}:\n${output}`));
          }
        };
        listeners.add(check);
        check();
      }),
  };
}
