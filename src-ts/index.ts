// Public entry point of mimobox-wasm.
export type {
  DirGrant, ExecuteOptions, Logger, Sandbox, SandboxConfig, SandboxResult, TrapKind,
} from './types.js';
export {
  AbortError, ConfigError, InternalError, ModuleError, ResourceError, SandboxError, type ErrorCode,
} from './errors.js';
export { WasmSandbox, type LoadOptions, type ModuleHandle } from './sandbox.js';
export { JsSandbox } from './js-backend/sandbox.js';
export { createSandbox, type Backend, type CreateSandboxOptions } from './factory.js';
export { setProcessMemoryBudget } from './memory-budget.js';
