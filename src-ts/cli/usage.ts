// Usage errors and command failures: thrown by commands, turned into a
// "mimobox: ..." line and an exit status by main().
import { EXIT } from './exit-codes.js';

/** Bad command-line usage: the CLI prints the message and exits with EXIT.usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure whose message is ready to print and whose exit status is decided. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** A usage failure whose message ends with where to read the command's help. */
export function usage(err: UsageError | string, command?: string): CliFailure {
  const message = typeof err === 'string' ? err : err.message;
  const hint = command ? `Try 'mimobox ${command} --help'.` : "Try 'mimobox --help'.";
  return new CliFailure(`${message}\n${hint}`, EXIT.usage);
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
