import { spawn } from 'node:child_process';
import { projectRoot, taskArgv } from '../../tasks/paths.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one of the project's commands as its npm script does (no TTY, so plain output). */
export function runTask(task: string, args: string[], env: Record<string, string | undefined> = {}, onSpawn?: (pid: number) => void): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [command, ...rest] = taskArgv(task, ...args);
    const child = spawn(command, rest, {
      cwd: projectRoot,
      env: { ...process.env, CI: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    if (child.pid && onSpawn) onSpawn(child.pid);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
