import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InterruptedError } from '../../core/errors.js';
import { run } from '../../core/process.js';
import { tempDir } from '../support/temp.js';

describe('run', () => {
  it('gives the exit code, both outputs and the log interleaved, and passes no argument through a shell', async () => {
    const log = new PassThrough();
    const logged: Buffer[] = [];
    log.on('data', (chunk: Buffer) => logged.push(chunk));
    const result = await run(['sh', '-c', 'echo out; echo err >&2; exit 3', '$HOME; *'], { log });
    expect(result).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(Buffer.concat(logged).toString()).toContain('out\n');
    const literal = await run(['printf', '%s', '$HOME; * `id`']);
    expect(literal.stdout).toBe('$HOME; * `id`');
  });

  it('feeds stdin, and ends it when there is no input', async () => {
    expect((await run(['cat'], { input: 'fed\n' })).stdout).toBe('fed\n');
    expect((await run(['cat'])).stdout).toBe('');
  });

  it('runs in cwd with exactly the given environment, looking the command up on its PATH', async () => {
    const dir = tempDir('process');
    const result = await run(['sh', '-c', 'pwd; echo "${ONLY_THIS-unset} ${HOME-unset}"'], { cwd: dir, env: { PATH: process.env.PATH, ONLY_THIS: 'set' } });
    expect(result.stdout).toBe(`${dir}\nset unset\n`);
  });

  it('says 127 for a missing command and 128+N for a signal, as a shell does', async () => {
    expect(await run(['moby-make-no-such-command'])).toMatchObject({ exitCode: 127, stderr: 'moby-make-no-such-command: not found' });
    expect(await run(['sh', '-c', 'kill -KILL $$'])).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
  });

  it('on abort, ends the whole process group (a build driver and the compilers it started) and says interrupted', async () => {
    const dir = tempDir('process-abort');
    const pidFile = join(dir, 'grandchild.pid');
    const controller = new AbortController();
    const running = run(['sh', '-c', `sleep 60 & echo $! > ${pidFile}; wait`], { signal: controller.signal });
    while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') await new Promise((resolve) => setTimeout(resolve, 20));
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    controller.abort();
    await expect(running).rejects.toBeInstanceOf(InterruptedError);
    await expect.poll(() => alive(grandchild), { timeout: 5_000 }).toBe(false);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}
