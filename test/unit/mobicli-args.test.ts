import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.js';
import { commandHelp, parseCommand } from '../../mobicli/args.js';
import { ago, humanSize, table, truncate } from '../../mobicli/format.js';
import { RUN_SPEC as RUN } from '../../mobicli/run.js';

describe('mobicli argument parser', () => {
  it('reads clusters, inline and separate values, repeated lists, and stops at the image', () => {
    const argv = [
      '-dit',
      '--name=bird',
      '-m16m',
      '-e',
      'A=1',
      '--env',
      'B=2',
      '--cpu-shares',
      '256',
      '-p',
      '127.0.0.1:8080:80',
      '-v/srv:/data:ro',
      '--net',
      'testbridge',
      '--rm',
    ];
    const parsed = parseCommand(RUN, [...argv, 'img', 'sh', '-c', 'top --name x', '-d']);
    expect(parsed.flags).toEqual({
      detach: true,
      interactive: true,
      tty: true,
      rm: true,
      name: 'bird',
      memory: 16 * 1024 ** 2,
      env: [
        { key: 'A', value: '1' },
        { key: 'B', value: '2' },
      ],
      'cpu-shares': 256,
      publish: [{ hostIp: '127.0.0.1', hostPort: '8080', containerPort: 80, protocol: 'tcp' }],
      volume: [{ source: '/srv', target: '/data', readOnly: true }],
      net: 'testbridge',
    });
    expect(parsed.operands).toEqual(['img', 'sh', '-c', 'top --name x', '-d']);
    expect(parsed.help).toBe(false);
  });

  it('leaves unset flags at false, undefined or empty, and takes everything after -- as operands', () => {
    const parsed = parseCommand(RUN, ['--', '-img']);
    expect(parsed.flags).toEqual({
      detach: false,
      interactive: false,
      tty: false,
      rm: false,
      name: undefined,
      env: [],
      volume: [],
      memory: undefined,
      'cpu-shares': undefined,
      publish: [],
      net: undefined,
    });
    expect(parsed.operands).toEqual(['-img']);
  });

  it('lets flags follow operands where the command has no command of its own', () => {
    const spec = { ...RUN, path: 'stop', flagsEndAtFirstOperand: false };
    expect(parseCommand(spec, ['a', '-d', 'b']).operands).toEqual(['a', 'b']);
  });

  it('turns every mistake into a UsageError that names the flag and the fix', () => {
    const fails = (argv: string[]) => {
      try {
        parseCommand(RUN, argv);
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return (error as Error).message;
      }
      throw new Error(`${argv.join(' ')} parsed`);
    };
    expect(fails(['--bogus', 'img'])).toBe('unknown flag --bogus for mobicli run; see mobicli run --help');
    expect(fails(['-x', 'img'])).toBe('unknown flag -x for mobicli run; see mobicli run --help');
    expect(fails(['-m', '100x', 'img'])).toMatch(/^invalid value "100x" for -m, --memory: not a size; use a number/);
    expect(fails(['--name'])).toBe('--name needs a string value; see mobicli run --help');
    expect(fails(['--name='])).toBe('invalid value "" for --name: it is empty');
    expect(fails(['--detach=yes', 'img'])).toBe('invalid value "yes" for --detach: use true or false');
    expect(fails(['-d'])).toBe('mobicli run takes at least 1 argument: mobicli run [OPTIONS] IMAGE [COMMAND] [ARG...]');
    expect(fails(['-dm'])).toBe('-m, --memory needs a bytes value; see mobicli run --help');
  });

  it('answers --help even when operands are missing', () => {
    expect(parseCommand(RUN, ['--help']).help).toBe(true);
    expect(parseCommand(RUN, ['-dh']).help).toBe(true);
  });

  it('writes help in the seed style: summary, Usage, Flags sorted by long name with their value types', () => {
    const help = commandHelp(RUN).split('\n');
    expect(help.slice(0, 6)).toEqual([
      'Create and run a new container from an image',
      '',
      'Usage:',
      '  mobicli run [OPTIONS] IMAGE [COMMAND] [ARG...]',
      '',
      'Flags:',
    ]);
    const flags = help.slice(6).map((line) => /^ {2}(-\w, | {4})--([\w-]+)( \w+)? {3,}\S/.exec(line)?.slice(1, 4));
    expect(flags).toEqual([
      ['    ', 'cpu-shares', ' int'],
      ['-d, ', 'detach', undefined],
      ['-e, ', 'env', ' list'],
      ['-h, ', 'help', undefined],
      ['-i, ', 'interactive', undefined],
      ['-m, ', 'memory', ' bytes'],
      ['    ', 'name', ' string'],
      ['    ', 'net', ' string'],
      ['-p, ', 'publish', ' list'],
      ['    ', 'rm', undefined],
      ['-t, ', 'tty', undefined],
      ['-v, ', 'volume', ' list'],
    ]);
    const descriptionColumns = help.slice(6).map((line) => /^ {2}(?:-\w, | {4})--[\w-]+(?: \w+)? +/.exec(line)?.[0].length);
    expect(new Set(descriptionColumns)).toEqual(new Set([25])); // one column: three spaces after the widest, "    --cpu-shares int"
  });
});

describe('mobicli output formats', () => {
  it('pads table columns to the widest cell', () => {
    expect(
      table(
        ['ID', 'NAME'],
        [
          ['abc', 'x'],
          ['d', 'longer'],
        ],
      ),
    ).toBe('ID    NAME\nabc   x\nd     longer');
  });

  it('says how long ago and how big as docker does', () => {
    expect(ago(0.5)).toBe('Less than a second ago');
    expect(ago(1)).toBe('1 second ago');
    expect(ago(75)).toBe('About a minute ago');
    expect(ago(600)).toBe('10 minutes ago');
    expect(ago(3 * 3600)).toBe('3 hours ago');
    expect(ago(3 * 86400)).toBe('3 days ago');
    expect(humanSize(999)).toBe('999B');
    expect(humanSize(3_130_000)).toBe('3.13MB');
    expect(humanSize(1_500_000_000)).toBe('1.5GB');
    expect(truncate('sh -c "echo out; echo err"', 20)).toBe('sh -c "echo out; ec…');
    expect(truncate('top', 20)).toBe('top');
  });
});
