import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { listSources } from '../../bin/launcher.js';
import { projectRoot } from '../../tasks/paths.js';
import { tempDir } from '../support/temp.js';

const execFileAsync = promisify(execFile);

/**
 * A project of its own around a copy of the launcher: the launcher finds its
 * project by its own place, and its generations live in that project's
 * node_modules, so the checkout's stay untouched.
 */
function launcherProject(): { root: string; generations: string } {
  const root = tempDir('launcher');
  mkdirSync(join(root, 'bin'));
  for (const file of ['launcher.js', 'run.js']) copyFileSync(join(projectRoot, 'bin', file), join(root, 'bin', file));
  copyFileSync(join(projectRoot, 'tsconfig.json'), join(root, 'tsconfig.json'));
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  mkdirSync(join(root, 'node_modules'));
  for (const dependency of ['esbuild', 'tsx']) symlinkSync(join(projectRoot, 'node_modules', dependency), join(root, 'node_modules', dependency));
  mkdirSync(join(root, 'core'));
  mkdirSync(join(root, 'tasks'));
  writeValue(root, 1);
  // Where each module ran from (its stack), the argv it saw, and whether a component of the checkout is the module the task imported.
  writeFileSync(
    join(root, 'tasks', 'hello.ts'),
    `import { value, where } from '../core/value.js';
import * as valueModule from '../core/value.js';
const launcher = (globalThis as { [key: symbol]: { importTypeScript(file: string): Promise<unknown> } })[Symbol.for('moby-make.launcher')]!;
const outside = process.env.OUTSIDE_COMPONENT;
const same = (await launcher.importTypeScript(new URL('../core/value.ts', import.meta.url).pathname)) === valueModule;
const component = outside ? ((await launcher.importTypeScript(outside)) as { default: () => string }).default() : 'none';
console.log(JSON.stringify({ value, where: where(), argv: process.argv.slice(1), same, component }));
`,
  );
  return { root, generations: join(root, 'node_modules', '.cache', 'moby-make') };
}

function writeValue(root: string, value: number): void {
  writeFileSync(
    join(root, 'core', 'value.ts'),
    `export const value: number = ${value};\nexport const where = (): string => new Error().stack!.split('\\n')[1]!;\n`,
  );
}

interface Output {
  value: number;
  where: string;
  argv: string[];
  same: boolean;
  component: string;
}

async function hello(root: string, args: string[] = [], outsideComponent?: string): Promise<Output & { stderr: string }> {
  const env = { ...process.env, ...(outsideComponent ? { OUTSIDE_COMPONENT: outsideComponent } : {}) };
  const { stdout, stderr } = await execFileAsync(process.execPath, [join(root, 'bin', 'run.js'), 'tasks/hello.ts', ...args], { env });
  return { ...(JSON.parse(stdout) as Output), stderr };
}

function generationsIn(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.includes('gen-'));
}

function stampedGeneration(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'stamp.json'), 'utf8')) as { generation: string }).generation;
}

describe('the launcher', () => {
  it("compiles the checkout's code: not the tests, dependencies, bundles, hidden folders, Go modules or checkouts of their own", () => {
    const root = tempDir('launcher-sources');
    const files = [
      'core/a.ts',
      'core/nested/b.ts',
      'core/types.d.ts',
      'top.ts',
      'test/t.ts',
      'bundles/x.ts',
      'node_modules/dep/index.ts',
      'core/node_modules/dep/index.ts',
      '.hidden/h.ts',
      'image/init/go.mod',
      'image/init/tool.ts',
      'moby/.git/HEAD',
      'moby/hack/script.ts',
    ];
    for (const file of files) {
      mkdirSync(join(root, file, '..'), { recursive: true });
      writeFileSync(join(root, file), '');
    }
    expect(listSources(root)).toEqual(['core/a.ts', 'core/nested/b.ts']);
  });

  it('compiles the project once and starts the next command from the same generation', async () => {
    const { root, generations } = launcherProject();
    const first = await hello(root, ['a', 'b']);
    expect(first.value).toBe(1);
    expect(first.argv).toEqual([join(root, 'tasks', 'hello.ts'), 'a', 'b']);
    const [generation] = generationsIn(generations);
    expect(first.where).toContain(join(generations, generation!, 'core', 'value.js'));
    const compiled = statSync(join(generations, generation!, 'core', 'value.js'));

    const second = await hello(root);
    expect(second.where).toBe(first.where);
    expect(generationsIn(generations)).toEqual([generation]);
    expect(statSync(join(generations, generation!, 'core', 'value.js')).mtimeMs).toBe(compiled.mtimeMs);
  });

  it('compiles what an edit changed, links the rest, and takes a touch without an edit as it was', async () => {
    const { root, generations } = launcherProject();
    await hello(root);
    const before = stampedGeneration(generations);

    writeValue(root, 2);
    const edited = await hello(root);
    expect(edited.value).toBe(2);
    const after = stampedGeneration(generations);
    expect(after).not.toBe(before);
    expect(edited.where).toContain(join(generations, after, 'core', 'value.js'));
    // The task itself did not change: the new generation holds the old one's file, not a second compilation of it.
    expect(statSync(join(generations, after, 'tasks', 'hello.js')).ino).toBe(statSync(join(generations, before, 'tasks', 'hello.js')).ino);

    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'core', 'value.ts'), later, later);
    expect((await hello(root)).value).toBe(2);
    expect(stampedGeneration(generations)).toBe(after);
    expect(generationsIn(generations).sort()).toEqual([before, after].sort());
  });

  it('agrees on one generation when commands start at once after an edit', async () => {
    const { root, generations } = launcherProject();
    await hello(root);
    writeValue(root, 3);
    const outputs = await Promise.all([1, 2, 3, 4].map(() => hello(root)));
    expect(outputs.map((output) => output.value)).toEqual([3, 3, 3, 3]);
    // Two generations: the first command's and the edit's; no command's folder in the making is left.
    expect(generationsIn(generations)).toHaveLength(2);
    expect(new Set(outputs.map((output) => output.where)).size).toBe(1);
  });

  it("imports a component of the checkout as the module the rest imports, and one from elsewhere through tsx's loader", async () => {
    const { root } = launcherProject();
    const elsewhere = tempDir('launcher-component');
    writeFileSync(join(elsewhere, 'extra.ts'), "export default (): string => 'extra';\n");
    const output = await hello(root, [], join(elsewhere, 'extra.ts'));
    expect(output.same).toBe(true);
    expect(output.component).toBe('extra');
  });

  it("runs the sources through tsx's loader where no generation can be written, or a file does not compile", async () => {
    const { root, generations } = launcherProject();
    mkdirSync(join(root, 'node_modules', '.cache'));
    writeFileSync(generations, 'not a folder');
    const unwritable = await hello(root);
    expect(unwritable.value).toBe(1);
    expect(unwritable.where).toContain(join(root, 'core', 'value.ts'));

    rmSync(generations);
    writeFileSync(join(root, 'core', 'unused.ts'), 'export const broken = ;\n');
    const uncompilable = await hello(root);
    expect(uncompilable.where).toContain(join(root, 'core', 'value.ts'));
    expect(uncompilable.stderr).toMatch(/^moby-make: core\/unused\.ts:1:\d+: .*running through tsx's loader until it compiles$/m);
    expect(unwritable.stderr).toBe('');
    expect(readdirSync(generations).filter((name) => name.startsWith('.'))).toEqual([]);
  });
});
