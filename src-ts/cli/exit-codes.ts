// The exit status of `mimobox` commands (documented in `mimobox run --help`).
import type { SandboxError } from '../errors.js';
import type { SandboxResult } from '../types.js';

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

/**
 * The process exit code for a finished execute: the guest's own code (clamped to 255 when
 * it is out of 0..255), 124 on timeout or fuel exhaustion, 137 when it hit the memory limit,
 * 134 for any other trap.
 */
export function exitCodeFor(result: Pick<SandboxResult, 'exitCode' | 'timedOut' | 'trap' | 'error'>): number {
  if (result.timedOut) return EXIT.timeout;
  if (result.trap) {
    // Both backends report a refused memory.grow / an oversized initial memory as a
    // `memory` trap whose message says "memory limit"; a plain out-of-bounds access is
    // also a `memory` trap but is a bug in the guest, not a limit.
    if (result.trap === 'memory' && /memory limit/i.test(result.error ?? '')) return EXIT.memoryLimit;
    return EXIT.trap;
  }
  if (result.exitCode === null || result.exitCode === undefined) return EXIT.internal;
  if (!Number.isInteger(result.exitCode) || result.exitCode < 0 || result.exitCode > 255) return 255;
  return result.exitCode;
}

/** The exit code for an error thrown by createSandbox() or execute(). */
export function exitCodeForError(e: SandboxError): number {
  switch (e.code) {
    case 'CONFIG_INVALID':
    case 'COMMAND_INVALID':
    case 'DIR_NOT_FOUND':
      return EXIT.usage;
    case 'MODULE_NOT_FOUND':
      return EXIT.notFound;
    case 'MODULE_INVALID':
    case 'MODULE_TOO_LARGE':
    case 'NO_ENTRY':
    case 'IMPORT_MISSING':
      return EXIT.notRunnable;
    case 'ABORTED':
      return EXIT.sigint;
    default:
      return EXIT.internal;
  }
}
