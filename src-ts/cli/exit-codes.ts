// The one exit-status policy of `mimobox` (documented in `mimobox run --help`):
// a finished run's status from its SandboxResult, a failed command's status
// from the error it threw.
import { SandboxError } from '../shared/errors.js';
import { QueueError } from '../queue/errors.js';
import type { SandboxResult } from '../shared/types.js';
import { UsageError } from './usage.js';

/** Exit codes of `mimobox run` other than the guest's own (see `mimobox run --help`). */
export const EXIT = Object.freeze({
  /** Bad usage: unknown option, malformed value, missing file argument, bad directory. */
  usage: 2,
  /** The guest ran past --timeout or used up its --fuel budget (as timeout(1)). */
  timeout: 124,
  /** mimobox itself failed: native addon unavailable, internal error, queue/budget errors. */
  internal: 125,
  /** The module exists but cannot run: not wasm, too large, no entry point, missing import. */
  notRunnable: 126,
  /** The module file does not exist (as a shell's "command not found"). */
  notFound: 127,
  /** The guest trapped (unreachable, stack overflow, divide by zero, out-of-bounds access, ...): 128+SIGABRT. */
  trap: 134,
  /** The guest hit the memory limit (--memory): 128+SIGKILL, as an OOM kill. */
  memoryLimit: 137,
  /** Interrupted by SIGINT (Ctrl-C); SIGTERM gives 143. */
  sigint: 130,
  sigterm: 143,
});

/** Why a guest did not end with an exit code of its own, as the CLI reports it. */
export type Stop = 'timeout' | 'memory' | 'trap';

type ResultFields = Pick<SandboxResult, 'exitCode' | 'timedOut' | 'trap' | 'limit'>;

/** What stopped the guest, or undefined when it ended on its own (exit, return). */
export function stopOf(result: ResultFields): Stop | undefined {
  switch (result.limit) {
    case 'wall_clock':
    case 'fuel':
      return 'timeout';
    case 'memory':
      return 'memory';
    case 'table':
    case 'stack':
      // A guest's stack or tables outgrowing their limit traps: reported as any other trap.
      return 'trap';
    case undefined:
      break;
  }
  // Every timeout carries its limit; a result from an older worker (a queue) may not.
  if (result.timedOut) return 'timeout';
  // No limit stopped it: a trap is the guest's own (an out-of-bounds access, unreachable...).
  if (result.trap) return 'trap';
  return undefined;
}

/**
 * The process exit status for a finished execute: 124 on timeout or fuel exhaustion, 137
 * when the guest hit the memory limit, 134 for any other trap; else the guest's own code
 * (255 when out of 0..255), or 125 when it has none.
 */
export function exitCodeForResult(result: ResultFields): number {
  switch (stopOf(result)) {
    case 'timeout':
      return EXIT.timeout;
    case 'memory':
      return EXIT.memoryLimit;
    case 'trap':
      return EXIT.trap;
    case undefined:
      break;
  }
  if (result.exitCode === null || result.exitCode === undefined) return EXIT.internal;
  if (!Number.isInteger(result.exitCode) || result.exitCode < 0 || result.exitCode > 255) return 255;
  return result.exitCode;
}

const USAGE_CODES: ReadonlySet<string> = new Set(['CONFIG_INVALID', 'COMMAND_INVALID', 'DIR_NOT_FOUND']);
const NOT_RUNNABLE_CODES: ReadonlySet<string> = new Set(['MODULE_INVALID', 'MODULE_TOO_LARGE', 'NO_ENTRY', 'IMPORT_MISSING']);

/**
 * The exit status for an error a command failed with. `program` (mimobox run): the error
 * is about FILE, so a missing module is 127 and one that cannot run 126, as a shell says.
 * `service` (worker, python, anything else): the command itself could not start, 125,
 * unless its options were wrong. Bad usage is 2 in both; an error of unknown kind is 125.
 */
export function exitCodeForError(e: unknown, scope: 'program' | 'service' = 'service'): number {
  if (e instanceof UsageError) return EXIT.usage;
  if (!(e instanceof SandboxError || e instanceof QueueError)) return EXIT.internal;
  if (USAGE_CODES.has(e.code)) return EXIT.usage;
  if (scope === 'service') return EXIT.internal;
  if (e.code === 'MODULE_NOT_FOUND') return EXIT.notFound;
  if (NOT_RUNNABLE_CODES.has(e.code)) return EXIT.notRunnable;
  if (e.code === 'ABORTED') return EXIT.sigint;
  return EXIT.internal;
}
