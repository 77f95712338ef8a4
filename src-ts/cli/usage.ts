// Usage errors: thrown by commands and parsers, printed by main() with a
// pointer to the right help text, exit status EXIT.usage.

/** Bad command-line usage: the CLI prints the message and exits with EXIT.usage. */
export class UsageError extends Error {
  /**
   * @param command the command whose `--help` the message points to; without it, `mimobox --help`.
   */
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }

  /** The message with the line that says where to read the help. */
  withHint(): string {
    const hint = this.command ? `Try 'mimobox ${this.command} --help'.` : "Try 'mimobox --help'.";
    return `${this.message}\n${hint}`;
  }
}

/** A usage error about `command`, from a message or from a parser's UsageError. */
export function usage(err: UsageError | string, command?: string): UsageError {
  return new UsageError(typeof err === 'string' ? err : err.message, command);
}

/** Runs util.parseArgs so that its errors become usage errors. */
export function parseOptions<T>(fn: () => T, command: string): T {
  try {
    return fn();
  } catch (e) {
    let message = (e as Error).message;
    const unknown = /^Unknown option '([^']*)'/.exec(message);
    if (unknown) {
      message = `unknown option '${unknown[1]}'`;
      if (command === 'run') message += ' (put the program\'s own arguments after "--": mimobox run FILE.wasm -- ARGS...)';
    }
    throw usage(message, command);
  }
}
