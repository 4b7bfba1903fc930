import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, nextSteps, type CommandName } from '../../tasks/cli/commands.js';
import { projectRoot } from '../../tasks/paths.js';
import { runTask } from '../support/cli.js';

const scripts = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
/** The project's own checks, which `npm test` and the README name; not commands a user runs against moby. */
const DEVELOPMENT_SCRIPTS = ['test', 'test:unit', 'test:integration', 'test:moby', 'test:vm', 'typecheck', 'lint', 'format'];
const names = Object.keys(COMMANDS) as CommandName[];

describe('the command list (npm run help)', () => {
  it('names every script a user runs, and only scripts', () => {
    expect([...names].sort()).toEqual(
      Object.keys(scripts)
        .filter((name) => !DEVELOPMENT_SCRIPTS.includes(name))
        .sort(),
    );
  });

  it('suggests next only commands that exist', () => {
    const suggested = names.flatMap((name) => COMMANDS[name].next.flatMap(([command]) => [...command.matchAll(/npm run ([\w:-]+)/g)].map((match) => match[1])));
    expect(suggested.filter((script) => script === undefined || !(script in scripts))).toEqual([]);
  });

  it.each(names)('npm run %s -- --help ends with what to run next', { timeout: 60_000 }, async (name) => {
    const result = await runTask(name, ['--help']);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout.trimEnd().endsWith(nextSteps(name))).toBe(true);
  });
});
