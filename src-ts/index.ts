// Public entry point of mimobox-wasm.
// First: the Node.js floor check, before any module that needs it runs.
import './shared/node-floor.js';
export type {
  DirGrant, ExecuteOptions, HostAnswer, HostCall, LimitKind, Logger, Sandbox, SandboxConfig, SandboxResult, Session,
  SessionCallOptions, SessionCallResult, SessionCloseOptions, SessionEndReason, SessionOptions, TrapKind,
} from './shared/types.js';
export { HOST_CALL_MAX_BYTES } from './shared/types.js';
export {
  AbortError, ConfigError, InternalError, ModuleError, ResourceError, SandboxError, SessionEndedError, type ErrorCode,
} from './shared/errors.js';
export { WasmSandbox, type LoadOptions, type ModuleHandle } from './native/sandbox.js';
export { JsSandbox, type JsSandboxOptions } from './js-backend/facade.js';
export { createSandbox, type Backend, type CreateSandboxOptions } from './factory.js';
export { setProcessMemoryBudget } from './memory-budget.js';
