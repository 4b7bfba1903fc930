/**
 * An error the user can act on: what went wrong, and what to do about it.
 * The CLI prints `message` and `hint` without a stack trace; anything that is
 * not a UserError is a bug and is shown with its stack under --verbose.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** The command line itself is wrong (unknown flag, malformed value): the CLI exits 2; the message names the fix. */
export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'UsageError';
  }
}

/** Ctrl-C or SIGTERM: not a failure, so the CLI exits 130; the hint says what was left as it was. */
export class InterruptedError extends UserError {
  constructor(hint = 'Nothing was published; the previous bundle is unchanged.') {
    super('interrupted', hint);
    this.name = 'InterruptedError';
  }
}

/** Several independent failures reported together (e.g. every source attempt). */
export function joinLines(lines: readonly string[], indent = '  '): string {
  return lines.map((line) => indent + line).join('\n');
}

export function describeError(error: unknown): string {
  if (error instanceof UserError) return error.hint ? `${error.message}\n${error.hint}` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The compiler proves this is never called: every member of a union was handled. */
export function unreachable(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}

/** Something the user cannot act on: a bug in moby-make. Its stack is kept for --verbose. */
export function isBug(error: unknown): boolean {
  return !(error instanceof UserError);
}
