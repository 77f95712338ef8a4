// Turns a backend's raw outcome into the public SandboxResult.
import type { LimitKind, SandboxResult, TrapKind } from './types.js';

const TRAP_KINDS: ReadonlySet<string> = new Set<TrapKind>([
  'memory', 'unreachable', 'stack_overflow', 'integer_divide_by_zero', 'integer_overflow',
  'bad_conversion_to_integer', 'indirect_call_to_null', 'bad_signature', 'table_out_of_bounds',
  'null_reference', 'unaligned_atomic', 'other',
]);

export function toTrapKind(name: string | null | undefined): TrapKind | undefined {
  if (name === null || name === undefined) return undefined;
  return TRAP_KINDS.has(name) ? (name as TrapKind) : 'other';
}

const LIMIT_KINDS: ReadonlySet<string> = new Set<LimitKind>(['wall_clock', 'fuel', 'memory', 'table', 'stack']);

function toLimitKind(name: string | null | undefined): LimitKind | undefined {
  return name !== null && name !== undefined && LIMIT_KINDS.has(name) ? (name as LimitKind) : undefined;
}

export interface RawOutcome {
  stdout: Buffer;
  stderr: Buffer;
  exitCode?: number | null;
  timedOut: boolean;
  trap?: string | null;
  error?: string | null;
  elapsedMs: number;
  fuelConsumed?: number | null;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  stdoutBytes: number;
  stderrBytes: number;
  hostCallFaults?: string[];
  limit?: LimitKind | string | null;
}

export function buildResult(raw: RawOutcome, warnings: string[], backend: 'native' | 'js'): SandboxResult {
  const result: SandboxResult = {
    stdout: raw.stdout,
    stderr: raw.stderr,
    exitCode: raw.exitCode ?? null,
    timedOut: raw.timedOut,
    elapsedMs: raw.elapsedMs,
    stdoutTruncated: raw.stdoutTruncated,
    stderrTruncated: raw.stderrTruncated,
    stdoutBytes: raw.stdoutBytes,
    stderrBytes: raw.stderrBytes,
    warnings: [...warnings],
    backend,
  };
  const trap = toTrapKind(raw.trap);
  if (trap) result.trap = trap;
  if (raw.error) result.error = raw.error;
  const limit = toLimitKind(raw.limit);
  if (limit) result.limit = limit;
  if (raw.fuelConsumed !== null && raw.fuelConsumed !== undefined) result.fuelConsumed = raw.fuelConsumed;
  if (raw.hostCallFaults !== undefined && raw.hostCallFaults.length > 0) result.hostCallFaults = [...raw.hostCallFaults];
  return result;
}
