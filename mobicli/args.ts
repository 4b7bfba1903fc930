import { UsageError } from '../core/errors.js';

/** Thrown by a flag's value parser: why the value is wrong and what would be right. */
export class InvalidValue extends Error {}

interface FlagBase {
  /** One letter, for -x and clusters like -it. */
  short?: string;
  help: string;
}
export interface BoolFlag extends FlagBase {
  kind: 'bool';
}
export interface ValueFlag<T> extends FlagBase {
  kind: 'value';
  /** The value's name in --help (string, int, bytes, …). */
  type: string;
  parse: (raw: string) => T;
}
export interface ListFlag<T> extends FlagBase {
  kind: 'list';
  type: string;
  parse: (raw: string) => T;
}
export type Flag = BoolFlag | ValueFlag<unknown> | ListFlag<unknown>;
export type Flags = Record<string, Flag>;

/** What parsing a command line yields for each flag: a boolean, the value or undefined, or every value given. */
export type FlagValues<F extends Flags> = {
  [K in keyof F]: F[K] extends BoolFlag ? boolean : F[K] extends ListFlag<infer T> ? T[] : F[K] extends ValueFlag<infer T> ? T | undefined : never;
};

export const bool = (help: string, short?: string): BoolFlag => ({ kind: 'bool', help, ...(short ? { short } : {}) });
export const value = <T>(type: string, help: string, parse: (raw: string) => T, short?: string): ValueFlag<T> => ({
  kind: 'value',
  type,
  help,
  parse,
  ...(short ? { short } : {}),
});
export const list = <T>(type: string, help: string, parse: (raw: string) => T, short?: string): ListFlag<T> => ({
  ...value(type, help, parse, short),
  kind: 'list',
});
export const text = (raw: string): string => {
  if (raw === '') throw new InvalidValue('it is empty');
  return raw;
};

export interface CommandSpec<F extends Flags> {
  /** As typed after `mobicli`: `run`, `network create`. */
  path: string;
  summary: string;
  /** After the command path in the Usage line: `[OPTIONS] IMAGE [COMMAND] [ARG...]`. */
  usage: string;
  flags: F;
  /** How many words besides flags: `min` is named by `usage` in the error. */
  operands: { min: number; max: number };
  /**
   * docker's run and exec: flags end at the first operand, so the container's
   * command keeps its own (`run IMAGE ls -l`). Elsewhere flags may follow operands.
   */
  flagsEndAtFirstOperand?: boolean;
}

export interface ParsedCommand<F extends Flags> {
  help: boolean;
  flags: FlagValues<F>;
  operands: string[];
}

/** Read by runMain for stack traces; accepted by every command and otherwise ignored. */
const VERBOSE = '--verbose';

export function parseCommand<F extends Flags>(spec: CommandSpec<F>, argv: readonly string[]): ParsedCommand<F> {
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(spec.flags)) values[name] = flag.kind === 'bool' ? false : flag.kind === 'list' ? [] : undefined;
  const operands: string[] = [];
  let help = false;
  const byShort = new Map(Object.entries(spec.flags).flatMap(([name, flag]) => (flag.short ? [[flag.short, name] as const] : [])));
  const set = (name: string, flag: Flag, raw: string, shown: string) => {
    let parsed: unknown;
    try {
      parsed = flag.kind === 'bool' ? parseBool(raw) : flag.parse(raw);
    } catch (error) {
      if (!(error instanceof InvalidValue)) throw error;
      throw new UsageError(`invalid value "${raw}" for ${shown}: ${error.message}`);
    }
    if (flag.kind === 'list') (values[name] as unknown[]).push(parsed);
    else values[name] = parsed;
  };
  const needsValue = (shown: string, flag: Flag, next: string | undefined): string => {
    if (next === undefined) throw new UsageError(`${shown} needs a ${flag.kind === 'bool' ? 'value' : flag.type} value; see mobicli ${spec.path} --help`);
    return next;
  };

  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const flagsOver = spec.flagsEndAtFirstOperand && operands.length > 0;
    if (flagsOver || arg === '-' || !arg.startsWith('-')) {
      operands.push(arg);
      continue;
    }
    if (arg === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === VERBOSE) continue;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const flag = spec.flags[name];
      if (!flag) throw unknownFlag(spec, `--${name}`);
      if (flag.kind === 'bool') set(name, flag, eq < 0 ? 'true' : arg.slice(eq + 1), `--${name}`);
      else set(name, flag, eq < 0 ? needsValue(`--${name}`, flag, argv[++i]) : arg.slice(eq + 1), `--${name}`);
      continue;
    }
    // A cluster of short flags (-it, -dit); a value flag takes the rest of the cluster or the next word (-m16m, -m 16m).
    for (let c = 1; c < arg.length; c += 1) {
      const letter = arg[c]!;
      if (letter === 'h') {
        help = true;
        continue;
      }
      const name = byShort.get(letter);
      const flag = name === undefined ? undefined : spec.flags[name];
      if (name === undefined || !flag) throw unknownFlag(spec, `-${letter}`);
      const shown = `-${letter}, --${name}`;
      if (flag.kind === 'bool') {
        set(name, flag, 'true', shown);
        continue;
      }
      const rest = arg.slice(c + 1);
      set(name, flag, rest !== '' ? rest : needsValue(shown, flag, argv[++i]), shown);
      break;
    }
  }
  if (!help) checkOperands(spec, operands);
  return { help, flags: values as FlagValues<F>, operands };
}

function parseBool(raw: string): boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new InvalidValue('use true or false');
}

function unknownFlag(spec: CommandSpec<Flags>, flag: string): UsageError {
  return new UsageError(`unknown flag ${flag} for mobicli ${spec.path}; see mobicli ${spec.path} --help`);
}

function checkOperands(spec: CommandSpec<Flags>, operands: readonly string[]): void {
  const { min, max } = spec.operands;
  if (operands.length >= min && operands.length <= max) return;
  const count = min === max ? `exactly ${min}` : operands.length < min ? `at least ${min}` : `at most ${max}`;
  const word = (n: number) => (n === 1 ? 'argument' : 'arguments');
  throw new UsageError(`mobicli ${spec.path} takes ${count} ${word(operands.length < min ? min : max)}: mobicli ${spec.path} ${spec.usage}`);
}

/** Cobra's layout, as in the seed: summary, Usage, Flags. */
export function commandHelp(spec: CommandSpec<Flags>): string {
  return [spec.summary, '', 'Usage:', `  mobicli ${spec.path} ${spec.usage}`, '', 'Flags:', ...flagLines(spec.flags, spec.path)].join('\n');
}

export function flagLines(flags: Flags, path: string): string[] {
  const rows: Array<[string, string]> = Object.entries(flags).map(([name, flag]) => [
    `${flag.short ? `-${flag.short}, ` : '    '}--${name}${flag.kind === 'bool' ? '' : ` ${flag.type}`}`,
    flag.help,
  ]);
  rows.push(['-h, --help', `help for ${path.split(' ').at(-1)}`]);
  rows.sort(([a], [b]) => a.replace(/^-., /, '').trim().localeCompare(b.replace(/^-., /, '').trim()));
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}   ${right}`);
}
