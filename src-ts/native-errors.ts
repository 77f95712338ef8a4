// The addon rejects with messages of the form "[MIMOBOX:CODE] text"; this
// turns them into typed errors.
import { errorFromCode, InternalError, type ErrorCode, type SandboxError } from './errors.js';

const PREFIX = /^\[MIMOBOX:([A-Z_]+)\] ([\s\S]*)$/;

export function fromNativeError(err: unknown): SandboxError {
  const message = err instanceof Error ? err.message : String(err);
  const match = PREFIX.exec(message);
  if (match) return errorFromCode(match[1] as ErrorCode, match[2] as string);
  return new InternalError(`native addon failed: ${message}`, { cause: err });
}
