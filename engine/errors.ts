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

/** Ctrl-C or SIGTERM: not a failure of the build, and the bundle is untouched. */
export class InterruptedError extends UserError {
  constructor() {
    super('interrupted', 'Nothing was published; the previous bundle is unchanged.');
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
