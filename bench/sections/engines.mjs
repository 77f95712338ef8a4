// Where CPU-bound time goes: mimobox's engine, bare wasmtime engines that
// differ from it in one setting each, and node:wasi, in alternating rounds
// (bench/engine-knobs.mjs). Needs cargo, which builds the small Rust program
// that holds the bare engines (it reuses the test build of wasmtime).
import { spawnSync } from 'node:child_process';
import { measureEngineKnobs } from '../engine-knobs.mjs';

/** Fills results.engines, or notes why it could not. */
export async function sectionEngines(c) {
  c.log('bench: engine settings (CPU-bound guests, alternating rounds)');
  if (!c.nativeOk) return;
  if (spawnSync('cargo', ['--version']).status !== 0) {
    c.notes.push('cargo not found: the engine-settings table (where CPU-bound time goes) is skipped');
    return;
  }
  try {
    c.results.engines = measureEngineKnobs({ rounds: c.quick ? 3 : 9, log: c.log });
  } catch (e) {
    c.notes.push(`engine settings: ${String(e.message).split('\n')[0]}`);
  }
}
