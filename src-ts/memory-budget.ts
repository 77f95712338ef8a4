// The process-wide memory budget's one public knob, for both backends: the
// JS backend's counter (shared/memory-budget.ts) and the native addon's own
// (src-rs/budget.rs). It sits above both, so shared code knows no backend.
import { loadNativeBinding } from './native/addon.js';
import { parseBudgetMb, setJsMemoryBudgetMb } from './shared/memory-budget.js';

/**
 * Sets the process-wide budget of reserved guest memory, in MiB, for both
 * backends. Executes already running keep their reservation; waiting ones are
 * re-checked (an execute whose cap is now over the whole budget fails with
 * MEMORY_BUDGET).
 */
export function setProcessMemoryBudget(mb: number): void {
  const value = parseBudgetMb('mb', mb);
  try {
    loadNativeBinding().setMemoryBudgetMb(value);
  } catch {
    // No native addon: only the JS backend runs here.
  }
  setJsMemoryBudgetMb(value);
}
