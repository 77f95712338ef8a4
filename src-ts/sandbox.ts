// WasmSandbox: the Sandbox contract on the native (wasmtime) backend.
import { availableParallelism } from 'node:os';
import { resolveConfig, toStdinBytes, validateCommand, validateEnv, type ResolvedConfig } from './config.js';
import { AbortError, ConfigError, ResourceError } from './errors.js';
import { loadNativeBinding, type NativeSandboxInstance } from './native.js';
import { fromNativeError } from './native-errors.js';
import { buildResult } from './result.js';
import type { ExecuteOptions, Sandbox, SandboxConfig, SandboxResult } from './types.js';

let nextExecutionId = 1;

export class WasmSandbox implements Sandbox {
  readonly backend = 'native' as const;
  private readonly config: ResolvedConfig;
  private readonly native: NativeSandboxInstance;
  private destroyed = false;

  constructor(config: SandboxConfig = {}) {
    this.config = resolveConfig(config, availableParallelism());
    const binding = loadNativeBinding();
    const c = this.config;
    this.native = new binding.NativeSandbox({
      memoryLimitBytes: c.memoryLimitBytes,
      timeoutMs: c.timeoutMs,
      fuelMode: c.fuel === 'auto' ? 'auto' : c.fuel === null ? 'off' : 'exact',
      ...(typeof c.fuel === 'number' ? { fuel: c.fuel } : {}),
      readonlyDirs: c.readonlyDirs,
      readwriteDirs: c.readwriteDirs,
      maxOutputBytes: c.maxOutputBytes,
      cache: c.cache,
      ...(c.cacheDir !== undefined ? { cacheDir: c.cacheDir } : {}),
      maxConcurrency: c.maxConcurrency,
      ...(c.queueTimeoutMs !== undefined ? { queueTimeoutMs: c.queueTimeoutMs } : {}),
    });
  }

  async execute(cmd: string[], opts: ExecuteOptions = {}): Promise<SandboxResult> {
    if (this.destroyed) throw new AbortError('this sandbox was destroyed: create a new one', 'DESTROYED');
    if (opts === null || typeof opts !== 'object') throw new ConfigError('opts', 'must be an object');
    const { path, args } = validateCommand(cmd);
    const env = { ...this.config.env, ...validateEnv('opts.env', opts.env) };
    const stdin = toStdinBytes(opts.stdin);
    const signal = opts.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new ConfigError('opts.signal', 'must be an AbortSignal');
    }
    if (signal?.aborted) throw new AbortError();

    const executionId = nextExecutionId++;
    const onAbort = () => this.native.cancel(executionId);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const raw = await this.native.execute({
        path,
        args,
        env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        stdin,
        executionId,
      });
      this.emitLog(raw.log);
      return buildResult(raw, this.config.warnings, 'native');
    } catch (e) {
      const err = fromNativeError(e);
      if (err.code === 'ABORTED' && signal?.aborted) throw new AbortError(`the execute was aborted: ${String(signal.reason ?? 'no reason given')}`);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Stops running executes (they reject with code DESTROYED) and frees the sandbox. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.native.destroy();
  }

  private emitLog(lines: string[]): void {
    const logger = this.config.logger;
    if (!logger) return;
    for (const line of lines) {
      const warn = line.startsWith('warn:');
      logger(warn ? 'warn' : 'info', line.slice(warn ? 5 : 5).trimStart());
    }
  }
}

export { ResourceError };
