import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { askTool, askToolSync } from '../../core/tool-answers.js';
import { tempDir } from '../support/temp.js';

/** A tool on a PATH of its own that counts how often it runs and answers with its version, failing while `fail` exists. */
function fakeTool(version: string): { env: NodeJS.ProcessEnv; runs: () => number; replace: (version: string) => void } {
  const bin = tempDir('tool-answers');
  const counter = join(bin, 'runs');
  writeFileSync(counter, '');
  const write = (v: string) => {
    writeFileSync(join(bin, 'tool.new'), `#!/bin/sh\necho x >> ${counter}\n[ -e ${bin}/fail ] && exit 1\necho ${v}\n`, { mode: 0o755 });
    renameSync(join(bin, 'tool.new'), join(bin, 'tool'));
  };
  write(version);
  return {
    env: { PATH: `${bin}:/usr/bin:/bin`, FAIL: join(bin, 'fail') },
    runs: () => readFileSync(counter, 'utf8').length / 2,
    replace: write,
  };
}

describe("a tool's answer", () => {
  it('is asked once while the tool and the environment stay the same', async () => {
    const tool = fakeTool('1.0');
    expect((await askTool(['tool', '--version'], tool.env)).stdout).toBe('1.0\n');
    expect((await askTool(['tool', '--version'], tool.env)).stdout).toBe('1.0\n');
    expect(tool.runs()).toBe(1);
    await askTool(['tool', '--version'], { ...tool.env, GOTOOLCHAIN: 'local' });
    expect(tool.runs()).toBe(2);
  });

  it('is asked again when the tool is replaced (an upgrade)', async () => {
    const tool = fakeTool('1.0');
    await askTool(['tool', '--version'], tool.env);
    tool.replace('2.0');
    expect((await askTool(['tool', '--version'], tool.env)).stdout).toBe('2.0\n');
    expect(tool.runs()).toBe(2);
  });

  it('is asked again when what the tool reads changes', async () => {
    const tool = fakeTool('1.0');
    await askTool(['tool', '--version'], tool.env, ['settings', 1]);
    await askTool(['tool', '--version'], tool.env, ['settings', 1]);
    expect(tool.runs()).toBe(1);
    await askTool(['tool', '--version'], tool.env, ['settings', 2]);
    expect(tool.runs()).toBe(2);
  });

  it('is asked again after a failure', async () => {
    const tool = fakeTool('1.0');
    writeFileSync(tool.env.FAIL ?? '', '');
    expect((await askTool(['tool', '--version'], tool.env)).exitCode).toBe(1);
    expect((await askTool(['tool', '--version'], tool.env)).exitCode).toBe(1);
    expect(tool.runs()).toBe(2);
  });

  it('asked synchronously keeps a no too, until what the tool reads changes', () => {
    const tool = fakeTool('1.0');
    writeFileSync(tool.env.FAIL ?? '', '');
    expect(askToolSync(['tool', '--exists'], tool.env, ['folder', 1])).toEqual({ ok: false, stdout: '' });
    expect(askToolSync(['tool', '--exists'], tool.env, ['folder', 1]).ok).toBe(false);
    expect(tool.runs()).toBe(1);
    askToolSync(['tool', '--exists'], tool.env, ['folder', 2]);
    expect(tool.runs()).toBe(2);
  });
});
