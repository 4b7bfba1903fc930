import { UsageError } from '../core/errors.js';
import { commandHelp, flagLines, parseCommand, type CommandSpec, type Flags, type ParsedCommand } from './args.js';
import type { Daemon } from './daemon.js';
import type { Env } from '../core/env.js';

export interface Context {
  daemon: Daemon;
  env: Env;
  /** stdout is mobicli's product (tables, ids, logs); errors go through runMain. */
  print: (line: string) => void;
  /** One error of several (`rm a b c`) that does not end the command: the CLI prints it as runMain would. */
  reportError: (error: unknown) => void;
}

/** A command (run, ps) or a group of them (mobicli itself, network); returns the exit code. */
export interface Command {
  name: string;
  summary: string;
  main(argv: readonly string[], context: Context): Promise<number>;
}

export function command<F extends Flags>(spec: CommandSpec<F>, run: (parsed: ParsedCommand<F>, context: Context) => Promise<number>): Command {
  return {
    name: spec.path.split(' ').at(-1)!,
    summary: spec.summary,
    main: async (argv, context) => {
      const parsed = parseCommand(spec, argv);
      if (parsed.help) {
        context.print(commandHelp(spec));
        return 0;
      }
      return run(parsed, context);
    },
  };
}

export interface GroupSpec {
  /** `mobicli` for the root, else the path after it (`network`). */
  path: string;
  summary: string;
  /** Extra paragraphs after the summary in --help. */
  description?: string;
  /** Ends the group's --help. */
  footer?: string;
  commands: readonly Command[];
}

/** Dispatches on its first word; bare or with --help it prints the list, as cobra does. */
export function group(spec: GroupSpec): Command {
  const prefix = spec.path === 'mobicli' ? 'mobicli' : `mobicli ${spec.path}`;
  const help = () => groupHelp(spec, prefix);
  return {
    name: spec.path.split(' ').at(-1)!,
    summary: spec.summary,
    main: async (argv, context) => {
      // --verbose is runMain's and may come first; later it may belong to a container's command.
      const at = argv.findIndex((arg) => arg !== '--verbose');
      const word = at < 0 ? undefined : argv[at];
      const rest = argv.slice(at + 1);
      if (word === undefined) {
        context.print(help());
        return 2;
      }
      if (word === '--help' || word === '-h' || (word === 'help' && rest.length === 0)) {
        context.print(help());
        return 0;
      }
      // cobra's `help COMMAND…` is `COMMAND… --help`.
      if (word === 'help') return findCommand(spec, prefix, rest[0]!).main([...rest.slice(1), '--help'], context);
      return findCommand(spec, prefix, word).main(rest, context);
    },
  };
}

function findCommand(spec: GroupSpec, prefix: string, word: string): Command {
  const found = spec.commands.find((c) => c.name === word);
  if (!found) {
    const what = word.startsWith('-') ? `unknown flag ${word}` : `unknown command ${word}`;
    throw new UsageError(`${what} for ${prefix}; it knows ${spec.commands.map((c) => c.name).join(', ')} (see ${prefix} --help)`);
  }
  return found;
}

function groupHelp(spec: GroupSpec, prefix: string): string {
  const width = Math.max(...spec.commands.map((c) => c.name.length)) + 3;
  return [
    spec.summary,
    ...(spec.description ? ['', spec.description] : []),
    '',
    'Usage:',
    `  ${prefix} COMMAND`,
    '',
    'Available Commands:',
    ...spec.commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Flags:',
    ...flagLines({}, spec.path),
    '',
    `Use "${prefix} COMMAND --help" for more information about a command.${spec.footer ?? ''}`,
  ].join('\n');
}
