// Host health probes for the hostile suites: resident memory and open file
// descriptors of this process, measured after a GC, and an event-loop stall
// detector. Portable: RSS comes from Node itself; descriptors are listed in
// /proc/self/fd on Linux and /dev/fd on macOS. Windows has no such listing
// (a process holds handles, not a descriptor table), so there CAN_COUNT_FDS
// is false and the descriptor checks are skipped, each saying so.
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { jsWorkerStats } from '../../dist/esm/js-backend/threads/pool.js';

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

/**
 * The open descriptors by what they are (their /proc/self/fd link, numbers
 * masked: "anon_inode:[eventfd]", "pipe:[N]", a file's path), where links
 * can be read (Linux); empty elsewhere. Says which descriptors a leak is.
 */
export function fdKinds(): Record<string, number> {
  const out: Record<string, number> = {};
  if (process.platform !== 'linux' || !CAN_COUNT_FDS) return out;
  for (const fd of readdirSync(FD_DIR as string)) {
    let link: string;
    try {
      link = readlinkSync(`${FD_DIR as string}/${fd}`).replace(/\d+/g, 'N');
    } catch {
      continue; // closed meanwhile (the listing's own descriptor)
    }
    out[link] = (out[link] ?? 0) + 1;
  }
  return out;
}

/** What `now` has more of than `base`, e.g. "anon_inode:[eventpoll] +4". */
export function fdDiff(base: Record<string, number>, now: Record<string, number>): string {
  return Object.entries(now).filter(([k, n]) => n > (base[k] ?? 0)).map(([k, n]) => `${k} +${n - (base[k] ?? 0)}`).join(', ') || 'none';
}

/**
 * The longest settle() waits for the JS backend's threads: they exit in
 * milliseconds on an idle machine; this only turns a thread that never
 * exits into a failed check instead of a hung test.
 */
const THREADS_SETTLE_CAP_MS = 30_000;

/**
 * Waits until no JS-backend thread is still on its way out (a stopped
 * thread holds its descriptors and memory until it exits, which on a busy
 * machine, at the guests' lower priority, takes seconds) and idle threads
 * beyond the warm pool have retired (after 2 s idle). Bounded by those
 * events, not by a guess at how long they take.
 */
export async function jsThreadsSettled(): Promise<{ settled: boolean; stats: ReturnType<typeof jsWorkerStats> }> {
  const until = performance.now() + THREADS_SETTLE_CAP_MS;
  for (;;) {
    const stats = jsWorkerStats();
    if (stats.stopping === 0 && stats.threads <= Math.max(stats.warm, stats.busy)) return { settled: true, stats };
    if (performance.now() > until) return { settled: false, stats };
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Lets workers exit and finalizers run, collects garbage, then measures. */
export async function settle(): Promise<Baseline> {
  const threads = await jsThreadsSettled();
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 30));
  }
  return { rssMb: rssMb(), fds: CAN_COUNT_FDS ? fdCount() : Number.NaN, fdKinds: fdKinds(), jsThreads: threads };
}

export interface Baseline {
  rssMb: number;
  /** NaN where CAN_COUNT_FDS is false. */
  fds: number;
  /** fdKinds() at the time (empty where links cannot be read). */
  fdKinds: Record<string, number>;
  /** Whether the JS backend's threads had settled (jsThreadsSettled), and their counts. */
  jsThreads: { settled: boolean; stats: ReturnType<typeof jsWorkerStats> };
}

/**
 * Waits (up to `waitMs`) for RSS and fds to come back within the slack of the
 * baseline, and returns what it saw last. Freed memory can take a moment to
 * leave RSS (terminated workers, allocator trimming), so it polls.
 */
export async function backToBaseline(base: Baseline, waitMs = 5000): Promise<Baseline & { ok: boolean }> {
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
