// Public entry point of mimobox-wasm.
export type {
  DirGrant, ExecuteOptions, HostAnswer, HostCall, LimitKind, Logger, Sandbox, SandboxConfig, SandboxResult, Session,
  SessionCallOptions, SessionCallResult, SessionCloseOptions, SessionEndReason, SessionOptions, TrapKind,
} from './types.js';
export { HOST_CALL_MAX_BYTES } from './types.js';
export {
  AbortError, ConfigError, InternalError, ModuleError, ResourceError, SandboxError, SessionEndedError, type ErrorCode,
} from './errors.js';
export { WasmSandbox, type LoadOptions, type ModuleHandle } from './sandbox.js';
export { JsSandbox, type JsSandboxOptions } from './js-sandbox.js';
export { createSandbox, type Backend, type CreateSandboxOptions } from './factory.js';
export { setProcessMemoryBudget } from './memory-budget.js';
