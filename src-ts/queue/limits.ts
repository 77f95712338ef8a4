// Limits are the worker's to grant: a job may ask for less time, memory, fuel
// or output than its worker's sandbox config allows, never more. Pure
// functions, so the policy is tested without Redis (test/queue/policy.test.ts).
import type { ResolvedConfig } from '../shared/config.js';
import { QueueError } from './errors.js';
import type { JobLimits } from './payload.js';

/** The most a worker grants, from its resolved sandbox config. */
export interface WorkerCeiling {
  timeoutMs: number;
  memoryLimitMb: number;
  /** null = no metering (the wall clock bounds a guest), number = exact budget. */
  fuel: number | null;
  maxOutputBytes: number;
}

/** The limits one job runs with. `fuel: null` = no metering. */
export interface GrantedLimits {
  timeoutMs: number;
  memoryLimitMb: number;
  fuel: number | null;
  maxOutputBytes: number;
}

export function ceilingOf(config: ResolvedConfig): WorkerCeiling {
  return {
    timeoutMs: config.timeoutMs,
    memoryLimitMb: config.memoryLimitBytes / (1024 * 1024),
    fuel: config.fuel,
    maxOutputBytes: config.maxOutputBytes,
  };
}

function exceeds(field: string, asked: string, granted: string): QueueError {
  return new QueueError(
    'LIMIT_EXCEEDS_WORKER',
    `limits.${field}: the job asks for ${asked} but this worker grants at most ${granted}: ask for less, or send it to a queue whose workers grant more`,
  );
}

/** The limits a job runs with, or LIMIT_EXCEEDS_WORKER when it asks for more than the ceiling. */
export function grantLimits(job: JobLimits, ceiling: WorkerCeiling): GrantedLimits {
  const timeoutMs = job.timeoutMs ?? ceiling.timeoutMs;
  if (timeoutMs > ceiling.timeoutMs) throw exceeds('timeoutMs', `${timeoutMs} ms`, `${ceiling.timeoutMs} ms`);
  const memoryLimitMb = job.memoryLimitMb ?? ceiling.memoryLimitMb;
  if (memoryLimitMb > ceiling.memoryLimitMb) {
    throw exceeds('memoryLimitMb', `${memoryLimitMb} MiB`, `${ceiling.memoryLimitMb} MiB`);
  }
  const maxOutputBytes = job.maxOutputBytes ?? ceiling.maxOutputBytes;
  if (maxOutputBytes > ceiling.maxOutputBytes) {
    throw exceeds('maxOutputBytes', `${maxOutputBytes} bytes`, `${ceiling.maxOutputBytes} bytes`);
  }
  return { timeoutMs, memoryLimitMb, fuel: grantFuel(job.fuel, ceiling), maxOutputBytes };
}

function grantFuel(asked: number | null | undefined, ceiling: WorkerCeiling): number | null {
  const c = ceiling.fuel;
  if (asked === undefined) return c;
  // A worker without metering bounds guests by the wall clock alone: any budget is less.
  if (c === null) return asked;
  if (asked === null) throw exceeds('fuel', 'no fuel metering (unbounded)', `${c} units`);
  if (asked > c) throw exceeds('fuel', `${asked} units`, `${c} units`);
  return asked;
}

/** A key naming a set of granted limits: jobs with equal keys share one sandbox. */
export function limitsKey(g: GrantedLimits): string {
  return `${g.timeoutMs}/${g.memoryLimitMb}/${g.fuel === null ? 'unmetered' : String(g.fuel)}/${g.maxOutputBytes}`;
}
