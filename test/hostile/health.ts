// Host health probes for the hostile suites: resident memory and open file
// descriptors of this process, measured after a GC, and an event-loop stall
// detector. Portable: RSS comes from Node itself; descriptors are listed in
// /proc/self/fd on Linux and /dev/fd on macOS. Windows has no such listing
// (a process holds handles, not a descriptor table), so there CAN_COUNT_FDS
// is false and the descriptor checks are skipped, each saying so.
import { existsSync, readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const MiB = 1024 * 1024;

/** Generous bounds: the point is "back to baseline", not an exact figure. */
export const RSS_SLACK_MB = 64;
export const FD_SLACK = 8;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Resident set size of this process, in MiB (on Linux the same figure as VmRSS). */
export function rssMb(): number {
  return process.memoryUsage.rss() / MiB;
}

const FD_DIR = ({ linux: '/proc/self/fd', darwin: '/dev/fd' } as Partial<Record<NodeJS.Platform, string>>)[process.platform];

/** Whether fdCount() works here (Linux, macOS); false on Windows. */
export const CAN_COUNT_FDS = FD_DIR !== undefined && existsSync(FD_DIR);

/** Open file descriptors of this process. Throws where CAN_COUNT_FDS is false. */
export function fdCount(): number {
  if (!CAN_COUNT_FDS) throw new Error(`fdCount: no per-process descriptor listing on ${process.platform}`);
  return readdirSync(FD_DIR as string).length;
}

/** Lets workers exit and finalizers run, collects garbage, then measures. */
export async function settle(): Promise<Baseline> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 30));
  }
  return { rssMb: rssMb(), fds: CAN_COUNT_FDS ? fdCount() : Number.NaN };
}

export interface Baseline {
  rssMb: number;
  /** NaN where CAN_COUNT_FDS is false. */
  fds: number;
}

/**
 * Waits (up to `waitMs`) for RSS and fds to come back within the slack of the
 * baseline, and returns what it saw last. Freed memory can take a moment to
 * leave RSS (terminated workers, allocator trimming), so it polls.
 */
export async function backToBaseline(base: Baseline, waitMs = 5000): Promise<{ rssMb: number; fds: number; ok: boolean }> {
  const until = performance.now() + waitMs;
  for (;;) {
    const now = await settle();
    const ok = now.rssMb <= base.rssMb + RSS_SLACK_MB && (!CAN_COUNT_FDS || now.fds <= base.fds + FD_SLACK);
    if (ok || performance.now() > until) return { ...now, ok };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Samples a value every `everyMs` until stopped; returns the peak. */
export function peakSampler(sample: () => number, everyMs = 5): { stop(): number } {
  let peak = sample();
  const t = setInterval(() => {
    peak = Math.max(peak, sample());
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return Math.max(peak, sample());
    },
  };
}

/** A 10 ms interval timer; reports the longest gap between two ticks. */
export function stallMeter(): { stop(): { maxGapMs: number; ticks: number } } {
  let last = performance.now();
  let maxGapMs = 0;
  let ticks = 0;
  const t = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    ticks++;
  }, 10);
  return {
    stop() {
      clearInterval(t);
      return { maxGapMs: Math.max(maxGapMs, performance.now() - last), ticks };
    },
  };
}
