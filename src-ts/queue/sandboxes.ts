// A worker's sandboxes, one per set of granted limits: the Sandbox API fixes
// limits per sandbox, and jobs may ask for less than the worker's maximum.
// Sandboxes are reused across jobs (so compiled modules stay warm) and the
// least recently used idle ones are destroyed past a bound.
import { createSandbox, type Backend } from '../factory.js';
import type { Sandbox, SandboxConfig } from '../shared/types.js';
import { limitsKey, type GrantedLimits } from './limits.js';

interface Entry {
  sandbox: Sandbox;
  busy: number;
}

export interface Lease {
  sandbox: Sandbox;
  release(): void;
}

export class SandboxSet {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly base: SandboxConfig,
    private readonly backend: Backend,
    private readonly concurrency: number,
    private readonly maxIdle = 16,
  ) {}

  /** The sandbox for these limits, created on first use. Throws the sandbox's ConfigError. */
  acquire(limits: GrantedLimits): Lease {
    const key = limitsKey(limits);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { sandbox: createSandbox(this.configFor(limits), { backend: this.backend }), busy: 0 };
    }
    this.entries.delete(key);
    this.entries.set(key, entry); // most recently used last
    entry.busy++;
    const e = entry;
    let released = false;
    return {
      sandbox: e.sandbox,
      release: () => {
        if (released) return;
        released = true;
        e.busy--;
        this.evict();
      },
    };
  }

  private configFor(limits: GrantedLimits): SandboxConfig {
    const config: SandboxConfig = { ...this.base };
    delete config.timeoutSecs;
    config.timeoutMs = limits.timeoutMs;
    config.memoryLimitMb = limits.memoryLimitMb;
    config.maxOutputBytes = limits.maxOutputBytes;
    config.fuel = limits.fuel;
    config.maxConcurrency = this.concurrency;
    return config;
  }

  private evict(): void {
    if (this.entries.size <= this.maxIdle) return;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxIdle) break;
      if (entry.busy > 0) continue;
      this.entries.delete(key);
      void entry.sandbox.destroy().catch(() => undefined);
    }
  }

  async destroyAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.sandbox.destroy().catch(() => undefined)));
  }
}
