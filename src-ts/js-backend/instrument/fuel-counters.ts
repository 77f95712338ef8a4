// The counters of a module instrumented for fuel (instrument.ts), read the
// way wasmtime reports fuel after a run.
import { FUEL_EXPORT, GROW_FUEL_EXPORT, NO_REFUSED_GROW, OUT_OF_FUEL, SAVED_FUEL_EXPORT, START_EXPORT } from './instrument.js';

const global = (instance: WebAssembly.Instance, name: string): WebAssembly.Global => {
  const g = instance.exports[name];
  if (!(g instanceof WebAssembly.Global)) throw new Error(`the metered module has no ${name} counter`);
  return g;
};

export class FuelCounters {
  private constructor(
    private readonly counter: WebAssembly.Global,
    private readonly saved: WebAssembly.Global,
    private readonly atGrow: WebAssembly.Global,
    private budget: bigint,
  ) {}

  /** Sets the budget: the counters start at -budget and count up. */
  static attach(instance: WebAssembly.Instance, budget: number): FuelCounters {
    const c = new FuelCounters(global(instance, FUEL_EXPORT), global(instance, SAVED_FUEL_EXPORT), global(instance, GROW_FUEL_EXPORT), BigInt(budget));
    c.counter.value = -c.budget;
    c.saved.value = -c.budget;
    return c;
  }

  /** A fresh budget for a session's next call: counted from zero, whatever earlier calls used. */
  reset(budget: number): void {
    this.budget = BigInt(budget);
    this.counter.value = -this.budget;
    this.saved.value = -this.budget;
    this.atGrow.value = NO_REFUSED_GROW;
  }

  /** Runs the module's start function, if it had one (instrument.ts took it out of instantiation). */
  runStart(instance: WebAssembly.Instance): void {
    const start = instance.exports[START_EXPORT];
    if (typeof start !== 'function') return;
    // wasmtime runs it from a generated start-up function: 1 for that function
    // and 1 for the call (module_start in wasmtime-cranelift), measured.
    this.counter.value = (this.counter.value as bigint) + 2n;
    this.saved.value = this.counter.value;
    (start as () => void)();
  }

  /** A check found the budget spent (the guest then executed `unreachable`). */
  get exhausted(): boolean {
    return this.counter.value === OUT_OF_FUEL;
  }

  /**
   * fuelConsumed as wasmtime reports it: the budget minus what is left, never
   * more than the budget. After a trap wasmtime's store only has the counter
   * as last stored (before a call, return or unreachable), and after a
   * refused memory.grow (where it traps) the one stored before that grow.
   */
  consumed(trap: string | undefined): number {
    let v = this.counter.value as bigint;
    if (v !== OUT_OF_FUEL && trap !== undefined) {
      const g = this.atGrow.value as bigint;
      v = trap === 'memory' && g !== NO_REFUSED_GROW ? g : (this.saved.value as bigint);
    }
    return Number(v >= 0n ? this.budget : this.budget + v);
  }
}
