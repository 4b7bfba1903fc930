import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../tasks/paths.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const tsx = join(projectRoot, 'node_modules', '.bin', 'tsx');

/** Runs one of the project's commands as a user would (no TTY, so plain output). */
export function runTask(task: string, args: string[], env: Record<string, string | undefined> = {}, onSpawn?: (pid: number) => void): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [join(projectRoot, 'tasks', `${task}.ts`), ...args], {
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
