// The addon throws and rejects with Errors whose `code` is one of the core's
// error codes (src-rs/error.rs, listed by the addon's nativeInfo()); this
// turns them into the typed error classes.
import { errorFromCode, InternalError, type ErrorCode, type SandboxError } from '../shared/errors.js';
import { loadNativeBinding } from './addon.js';

let coreCodes: ReadonlySet<string> | undefined;

function isCoreCode(code: unknown): code is ErrorCode {
  coreCodes ??= new Set(loadNativeBinding().nativeInfo().errorCodes);
  return typeof code === 'string' && coreCodes.has(code);
}

export function fromNativeError(err: unknown): SandboxError {
  if (err instanceof Error && isCoreCode((err as { code?: unknown }).code)) {
    return errorFromCode((err as Error & { code: ErrorCode }).code, err.message);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(`native addon failed: ${message}`, { cause: err });
}
