/**
 * POSIX shell quoting, so that a recorded command run with `sh -c` executes
 * exactly the argv and environment it describes. Words made only of
 * characters the shell never treats specially stay bare (readable records);
 * anything else goes in single quotes, inside which the shell interprets
 * nothing, with each single quote written as '\''.
 */

/** Characters that mean nothing to sh anywhere in a word, in or out of quotes. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Reserved words are only special as a command's first word, where an argv[0] could land. */
const RESERVED = new Set(['!', '{', '}', 'case', 'do', 'done', 'elif', 'else', 'esac', 'fi', 'for', 'if', 'in', 'then', 'until', 'while']);

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True when `text` reads as itself in sh without quotes (also inside single quotes). */
export function isPlainShellWord(text: string): boolean {
  return PLAIN.test(text);
}

export function quoteShellWord(text: string): string {
  if (isPlainShellWord(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * `NAME=value … argv` as one simple command. A first word that would read as
 * an assignment (it contains `=`) or a reserved word is quoted so it stays the
 * command name.
 */
export function shellCommand(argv: readonly string[], env: Readonly<Record<string, string>> = {}): string {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('shellCommand: empty argv');
  const assignments = Object.entries(env).map(([name, value]) => {
    if (!NAME.test(name)) throw new Error(`shellCommand: ${JSON.stringify(name)} is not a variable name`);
    return `${name}=${quoteShellWord(value)}`;
  });
  const first = command.includes('=') || RESERVED.has(command) ? `'${command.replace(/'/g, `'\\''`)}'` : quoteShellWord(command);
  return [...assignments, first, ...args.map(quoteShellWord)].join(' ');
}
