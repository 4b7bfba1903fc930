import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quoteShellWord, shellCommand } from '../../core/shell-quote.js';

/** What a command line really runs: sh parses it, node reports the argv and the TRICKY_<n> variables it received. */
function throughSh(commandLine: string): { argv: string[]; values: string[] } {
  const output = execFileSync('sh', ['-c', commandLine], { encoding: 'utf8', env: { ...process.env, HOME: '/home/someone' } });
  return JSON.parse(output) as { argv: string[]; values: string[] };
}

const REPORT = `console.log(JSON.stringify({
  argv: process.argv.slice(1),
  values: Object.keys(process.env).filter((k) => k.startsWith('TRICKY_')).sort((a, b) => a.slice(7) - b.slice(7)).map((k) => process.env[k]),
}))`;

const TRICKY = [
  '',
  ' ',
  'two words',
  "it's",
  '"double"',
  `'\\''`,
  '$HOME',
  '${HOME}',
  '$(echo no)',
  '`echo no`',
  '*',
  '?',
  '[a]',
  '~',
  '~/x',
  '#comment',
  'a;b',
  'a && b',
  'a|b',
  'a>b',
  '\\',
  'back\\slash',
  'line one\nline two',
  '\n',
  '\ttab',
  '-ldflags',
  '-X main.version=1.0 -s',
  '!',
  'ünïcødé',
  'x=y',
];

describe('shell quoting', () => {
  it('runs exactly the recorded argv through sh -c: empty, spaces, quotes, $HOME, globs, newlines', () => {
    const recorded = shellCommand([process.execPath, '-e', REPORT, ...TRICKY]);
    expect(throughSh(recorded).argv).toEqual(TRICKY);
  });

  it('passes every tricky value as an environment variable unchanged', () => {
    const env = Object.fromEntries(TRICKY.map((value, i) => [`TRICKY_${i}`, value]));
    expect(throughSh(shellCommand([process.execPath, '-e', REPORT], env)).values).toEqual(TRICKY);
  });

  it('keeps an empty -ldflags argument, so -o is not taken as its value', () => {
    const recorded = shellCommand(['go', 'build', '-ldflags', '', '-o', '@OUT@/rootlesskit', './cmd/rootlesskit']);
    expect(recorded).toBe("go build -ldflags '' -o @OUT@/rootlesskit ./cmd/rootlesskit");
  });

  it('leaves plain words bare and quotes a first word that would read as an assignment or a reserved word', () => {
    expect(quoteShellWord('-trimpath')).toBe('-trimpath');
    expect(quoteShellWord('@SRC:moby@/contrib/dockerd-rootless.sh')).toBe('@SRC:moby@/contrib/dockerd-rootless.sh');
    expect(shellCommand(['x=y', 'a'])).toBe("'x=y' a");
    expect(shellCommand(['if'])).toBe("'if'");
    expect(() => shellCommand(['true'], { 'NOT A NAME': '1' })).toThrow(/not a variable name/);
  });

  it('keeps a command named x=y the command, not an assignment', () => {
    expect(() => execFileSync('sh', ['-c', shellCommand(['x=y'])], { stdio: 'pipe' })).toThrow(/x=y: not found/);
  });
});
