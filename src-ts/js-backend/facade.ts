// The pure-JS backend's public class, loaded lazily: `import('mimobox-wasm')`
// does not load the backend's modules (WASI, fuel instrumentation, worker
// pool: about two thirds of the package's import time) until a JsSandbox is
// made. The config is checked here, at once, as every backend does.
import { resolveConfig } from '../shared/config.js';
import type { JsSandboxOptions } from './sandbox.js';
import type { ExecuteOptions, Sandbox, SandboxConfig, SandboxResult, Session, SessionOptions } from '../shared/types.js';

import { builtin } from '../shared/node-floor.js';

// A built-in through getBuiltinModule, not `import` (why: native/addon.ts).
const { availableParallelism } = builtin('node:os');

type Backend = import('./sandbox.js').JsSandbox;

export type { JsSandboxOptions } from './sandbox.js';

/** The Sandbox contract on V8's WebAssembly with a WASI preview 1 written in TypeScript. */
export class JsSandbox implements Sandbox {
  readonly backend = 'js' as const;
  private readonly impl: Promise<Backend>;

  constructor(config: SandboxConfig = {}, options: JsSandboxOptions = {}) {
    // Throws ConfigError now, not at the first execute.
    resolveConfig(config, availableParallelism());
    this.impl = import('./sandbox.js').then((m) => new m.JsSandbox(config, options));
    // A failure here (a directory gone since the check) surfaces at the first call.
    this.impl.catch(() => undefined);
  }

  async execute(cmd: string[], opts?: ExecuteOptions): Promise<SandboxResult> {
    return (await this.impl).execute(cmd, opts);
  }

  async openSession(module: string | Uint8Array, options?: SessionOptions): Promise<Session> {
    return (await this.impl).openSession(module, options);
  }

  async destroy(): Promise<void> {
    return (await this.impl).destroy();
  }
}
