// The lifecycle every backend's session shares: options checked once, calls
// one at a time in call order, idle and lifetime bounds, and the rule that a
// call which did not return ends the session. A backend supplies a driver
// that runs one call on its kept instance.
import { abortedError, destroyedError, SessionEndedError } from '../shared/errors.js';
import {
  DEFAULT_SHUTDOWN_BUDGET_MS, resolveCallOptions, resolveCloseOptions, type ResolvedCallOptions,
} from '../shared/session-options.js';
import type { SandboxResult, Session, SessionCallOptions, SessionCallResult, SessionCloseOptions, SessionEndReason } from '../shared/types.js';

export type ResolvedCall = Omit<ResolvedCallOptions, 'name'>;

/** A backend's raw answer for one call. */
export interface DriverResult {
  result: SandboxResult;
  returnValue: number | null;
  /** Set by the backend when the call ended the instance: 'timeout' | 'trap' | 'exit'. */
  sessionEnded?: 'timeout' | 'trap' | 'exit';
}

/** What a backend does for a session. */
export interface SessionDriver {
  /** Runs one call to its end. Rejects with a typed error (NO_ENTRY, ABORTED, DESTROYED, ...). */
  call(exportName: string, call: ResolvedCall & { timeoutMs: number }, executionId: number): Promise<DriverResult>;
  /** Stops the call with this id; its promise rejects with ABORTED. */
  cancel(executionId: number): void;
  /** Releases the instance, after calling `shutdown` within `budgetMs` when given. */
  close(shutdown: string | undefined, budgetMs: number): Promise<void>;
}

let nextCallId = 1_000_000_000;

/** A session on top of a backend's driver. */
export class ManagedSession implements Session {
  private endReason: SessionEndReason | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private running: number | undefined;
  private pending = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private lifetimeTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly openedAt = performance.now();

  constructor(
    private readonly driver: SessionDriver,
    private readonly bounds: { idleMs: number | undefined; lifetimeMs: number | undefined; defaultTimeoutMs: number },
    private readonly onEnded: (session: ManagedSession) => void,
  ) {
    if (bounds.lifetimeMs !== undefined) {
      this.lifetimeTimer = setTimeout(() => this.atLifetime(), bounds.lifetimeMs);
      this.lifetimeTimer.unref();
    }
    this.armIdle();
  }

  get ended(): SessionEndReason | null {
    return this.endReason;
  }

  call(exportName: string, options: SessionCallOptions = {}): Promise<SessionCallResult> {
    let call: ResolvedCall;
    try {
      call = resolveCallOptions(exportName, options);
    } catch (e) {
      return Promise.reject(e);
    }
    this.pending++;
    this.disarmIdle();
    const run = this.tail.then(() => this.runOne(exportName, call));
    this.tail = run.catch(() => undefined);
    return run.finally(() => {
      this.pending--;
      this.armIdle();
    });
  }

  private async runOne(exportName: string, call: ResolvedCall): Promise<SessionCallResult> {
    if (this.endReason !== null) throw new SessionEndedError(this.endReason);
    if (call.signal?.aborted) {
      // Before any guest code runs: nothing was unwound, the session goes on.
      throw abortedError('session call', call.signal.reason, 'session goes on');
    }
    let timeoutMs = call.timeoutMs ?? this.bounds.defaultTimeoutMs;
    let cappedByLifetime = false;
    if (this.bounds.lifetimeMs !== undefined) {
      const left = Math.floor(this.openedAt + this.bounds.lifetimeMs - performance.now());
      if (left <= 0) {
        this.end('lifetime');
        throw new SessionEndedError('lifetime');
      }
      if (left < timeoutMs) {
        timeoutMs = left;
        cappedByLifetime = true;
      }
    }
    const id = nextCallId++;
    const onAbort = () => this.driver.cancel(id);
    call.signal?.addEventListener('abort', onAbort, { once: true });
    this.running = id;
    let raw: DriverResult;
    try {
      raw = await this.driver.call(exportName, { ...call, timeoutMs }, id);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ABORTED' || code === 'DESTROYED') {
        this.end(code === 'ABORTED' ? 'aborted' : 'destroyed');
        if (code === 'DESTROYED') throw destroyedError();
        if (call.signal?.aborted) throw abortedError('session call', call.signal.reason, 'session ended');
      } else if (code === 'SESSION_ENDED') {
        throw new SessionEndedError(this.endReason ?? 'error', (e as Error).message);
      }
      throw e;
    } finally {
      this.running = undefined;
      call.signal?.removeEventListener('abort', onAbort);
    }
    const result: SessionCallResult = { ...raw.result, returnValue: raw.returnValue };
    if (raw.sessionEnded !== undefined) {
      const reason: SessionEndReason = raw.sessionEnded === 'timeout' && cappedByLifetime ? 'lifetime' : raw.sessionEnded;
      result.sessionEnded = reason;
      this.end(reason);
    }
    return result;
  }

  close(options: SessionCloseOptions = {}): Promise<void> {
    let o: ReturnType<typeof resolveCloseOptions>;
    try {
      o = resolveCloseOptions(options);
    } catch (e) {
      return Promise.reject(e);
    }
    // After the calls already queued, in call order.
    const closed = this.tail.then(() => this.end('closed', o.shutdown, o.budgetMs));
    this.tail = closed.catch(() => undefined);
    return closed;
  }

  /**
   * Ends the session now for `reason` (idle, lifetime, destroyed, a call's
   * ending): later calls reject with SESSION_ENDED; the instance is released.
   */
  end(reason: SessionEndReason, shutdown?: string, budgetMs = DEFAULT_SHUTDOWN_BUDGET_MS): Promise<void> {
    if (this.endReason === null) this.endReason = reason;
    this.disarmIdle();
    if (this.lifetimeTimer !== undefined) clearTimeout(this.lifetimeTimer);
    if (this.closing === undefined) {
      this.closing = this.driver.close(shutdown, budgetMs).finally(() => this.onEnded(this));
    }
    return this.closing;
  }

  private atLifetime(): void {
    // A running call's deadline is capped at the lifetime: it ends the session itself.
    if (this.running === undefined && this.pending === 0) void this.end('lifetime').catch(() => undefined);
  }

  private armIdle(): void {
    if (this.bounds.idleMs === undefined || this.endReason !== null || this.pending > 0) return;
    this.disarmIdle();
    this.idleTimer = setTimeout(() => {
      if (this.pending === 0 && this.running === undefined) void this.end('idle').catch(() => undefined);
    }, this.bounds.idleMs);
    this.idleTimer.unref();
  }

  private disarmIdle(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
