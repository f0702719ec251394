/**
 * Errors that reach a user. A UserError names what is wrong and how to fix it; the CLI prints its
 * message on one line and exits with its status (2 for bad input, as the CLI contract says).
 * Anything else that escapes is a bug and is printed with its stack.
 */
export class UserError extends Error {
  constructor(message: string, readonly exitCode: number = 2) {
    super(message);
    this.name = 'UserError';
  }
}

/** A file whose contents break its format's rules: the message names the file, the structure and the rule. */
export class FormatError extends UserError {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'FormatError';
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
