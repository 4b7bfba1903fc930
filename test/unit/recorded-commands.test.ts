import { mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { describeSteps, runSteps, type Step } from '../../builder/recipes/steps.js';
import { replayCommands } from '../../builder/rebuild/replay.js';
import { tempDir } from '../support/temp.js';

const TEXT = 'a * b $HOME "q" \\ [x] `no`\n\nVERSION=""\nkeep\nVERSION=""\n\n\n';

/** Every step kind, with text that sh would mangle if the record were not exact. */
const STEPS: Step[] = [
  { kind: 'copy-tree', from: '@SRC@', to: '@WORK@/tree' },
  { kind: 'edit', file: '@WORK@/tree/config.txt', find: 'VERSION=""', replace: `VERSION=" - git.$x 'q' * \\n"` },
  {
    kind: 'exec',
    argv: [
      'sh',
      '-c',
      'printf "[%s]" "$@" > "$OUT_FILE" && printf "%s" "$EMPTY" >> "$OUT_FILE" && readlink link >> "$OUT_FILE"',
      'sh',
      '',
      'two words',
      '$HOME',
      '*',
      "it's",
    ],
    cwd: '@WORK@/tree',
    env: { OUT_FILE: '@OUT@/exec.txt', EMPTY: '' },
  },
  { kind: 'copy', from: '@WORK@/tree/config.txt', to: '@OUT@/sub/config.txt', mode: 0o640 },
];

function sourceTree(): string {
  const src = join(tempDir('steps-src'), 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'config.txt'), TEXT);
  symlinkSync('config.txt', join(src, 'link'));
  return src;
}

function folders(): { out: string; work: string } {
  const root = tempDir('steps');
  const folders = { out: join(root, 'out'), work: join(root, 'work') };
  mkdirSync(folders.out);
  mkdirSync(folders.work);
  return folders;
}

/** Each file under `dir` with its mode and content. */
function contents(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[relative(dir, path)] = `${(statSync(path).mode & 0o777).toString(8)} ${readFileSync(path, 'utf8')}`;
  }
  return files;
}

describe('recorded commands', () => {
  it('do with sh -c exactly what the build did: copy-tree, edit, exec with argv and env, copy', async () => {
    const src = sourceTree();
    const built = folders();
    await runSteps(STEPS, { '@SRC@': src, '@OUT@': built.out, '@WORK@': built.work }, process.env, new PassThrough(), new AbortController().signal);

    const replayed = folders();
    const result = await replayCommands(describeSteps(STEPS), {
      paths: { '@SRC@': src, '@OUT@': replayed.out, '@WORK@': replayed.work },
      cwd: replayed.work,
      env: process.env,
      log: new PassThrough(),
      signal: new AbortController().signal,
    });
    expect(result).toEqual({ ok: true });
    expect(contents(replayed.out)).toEqual(contents(built.out));
    expect(contents(built.out)['exec.txt']).toMatch(/^\d+ \[\]\[two words\]\[\$HOME\]\[\*\]\[it's\]config\.txt\n$/);
    expect(contents(built.out)['sub/config.txt']).toBe(`640 ${TEXT.replaceAll('VERSION=""', `VERSION=" - git.$x 'q' * \\n"`)}`);
  });

  it('fail, as the build does, when the text an edit replaces is missing', async () => {
    const src = sourceTree();
    const missing: Step[] = [STEPS[0] as Step, { kind: 'edit', file: '@WORK@/tree/config.txt', find: 'not there', replace: 'x' }];
    const built = folders();
    const paths = { '@SRC@': src, '@OUT@': built.out, '@WORK@': built.work };
    await expect(runSteps(missing, paths, process.env, new PassThrough(), new AbortController().signal)).rejects.toThrow(/does not contain "not there"/);
    const log = new PassThrough();
    let output = '';
    log.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const replayed = folders();
    const result = await replayCommands(describeSteps(missing), {
      paths: { '@SRC@': src, '@OUT@': replayed.out, '@WORK@': replayed.work },
      cwd: replayed.work,
      env: process.env,
      log,
      signal: new AbortController().signal,
    });
    expect(result).toMatchObject({ ok: false, index: 1, result: { exitCode: 1 } });
    expect(output).toMatch(/config\.txt does not contain the text to replace/);
  });

  it('refuse a path that would need quoting rather than replay something else', async () => {
    const result = replayCommands(['true'], {
      paths: { '@SRC@': '/tmp/a folder' },
      cwd: '/',
      env: process.env,
      log: new PassThrough(),
      signal: new AbortController().signal,
    });
    await expect(result).rejects.toThrow(/@SRC@ would be \/tmp\/a folder, which a recorded command cannot take without quoting/);
  });
});
