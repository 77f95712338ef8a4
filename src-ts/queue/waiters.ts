// Callers waiting for job results. Results normally arrive as BullMQ queue
// events; a lookup of the job itself backs them up (a repeated jobId whose
// job already finished, an event stream trimmed during a long outage), so a
// finished job is never waited on forever.
import type { RedisClient } from 'bullmq';
import { abortedError } from '../shared/errors.js';
import type { QueueError } from './errors.js';
import type { QueueResult } from './result-codec.js';

export type Outcome = { ok: true; value: QueueResult } | { ok: false; error: QueueError };

interface Waiter {
  resolve: (value: QueueResult) => void;
  reject: (error: Error) => void;
  since: number;
}

export class ResultWaiters {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pollIntervalMs: number,
    /** Looks a job up: its outcome if finished, undefined if still to come. */
    private readonly lookup: (jobId: string) => Promise<Outcome | undefined>,
  ) {}

  wait(jobId: string, signal?: AbortSignal): Promise<QueueResult> {
    return new Promise<QueueResult>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, since: Date.now() };
      let set = this.waiting.get(jobId);
      if (set === undefined) this.waiting.set(jobId, (set = new Set()));
      set.add(waiter);
      if (signal !== undefined) {
        const onAbort = () => {
          this.drop(jobId, waiter);
          reject(abortedError(`wait for job ${jobId}`, signal.reason));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        const done = () => signal.removeEventListener('abort', onAbort);
        waiter.resolve = (v) => (done(), resolve(v));
        waiter.reject = (e) => (done(), reject(e));
      }
      this.schedule();
    });
  }

  settle(jobId: string, outcome: Outcome): void {
    const set = this.waiting.get(jobId);
    if (set === undefined) return;
    this.waiting.delete(jobId);
    for (const w of set) {
      if (outcome.ok) w.resolve(outcome.value);
      else w.reject(outcome.error);
    }
    if (this.waiting.size === 0) this.stop();
  }

  /** Looks the job up now, settling its waiters if it finished. */
  check(jobId: string): void {
    void this.lookup(jobId).then(
      (outcome) => {
        if (outcome !== undefined) this.settle(jobId, outcome);
      },
      () => undefined, // Redis unavailable: the event or the next poll settles it
    );
  }

  closeAll(error: Error): void {
    for (const set of this.waiting.values()) for (const w of set) w.reject(error);
    this.waiting.clear();
    this.stop();
  }

  private drop(jobId: string, waiter: Waiter): void {
    const set = this.waiting.get(jobId);
    set?.delete(waiter);
    if (set?.size === 0) this.waiting.delete(jobId);
    if (this.waiting.size === 0) this.stop();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.poll(), this.pollIntervalMs);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private poll(): void {
    const due = Date.now() - this.pollIntervalMs;
    for (const [jobId, set] of this.waiting) {
      if ([...set].some((w) => w.since <= due)) this.check(jobId);
    }
  }
}

const LAST_EVENT_ID = 'mimoboxLastEventId';

/** The id of the newest entry of a stream ('0-0' when empty). */
export async function lastEventId(client: RedisClient, key: string): Promise<string> {
  // BullMQ's client interface has no XREVRANGE; a one-line script reads it.
  client.defineCommand(LAST_EVENT_ID, {
    numberOfKeys: 1,
    lua: "local r = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1) if r[1] then return r[1][1] end return '0-0'",
    readOnly: true,
  });
  return String(await client.runCommand(LAST_EVENT_ID, [key]));
}
