// One call's work, the gate then the handler, under the tool's timeout and the turn's signal.
// It settles once: whatever the work does after its call was answered (a late result, a late
// rejection) is dropped, never thrown, and the handler is never started once the call was answered.
import type { ReadyTool } from './config.js';
import { bounded, faultOf } from './frames.js';
import { ToolDenied, type ToolCallInfo, type ToolContext, type ToolErrorKind } from './types.js';
import { copyArgs } from './values.js';

export type WorkOutcome =
  | { kind: 'ok'; value: unknown }
  | { kind: ToolErrorKind; message: string; fault?: string };

export interface Work {
  tool: ReadyTool;
  args: Record<string, unknown>;
  seq: number;
  gate: ((call: ToolCallInfo) => boolean | Promise<boolean>) | null;
  /** The turn's signal: its abort answers `cancelled`. */
  turn: AbortSignal;
}

/** A thrown error's own message, bounded, for the guest; never its stack. */
function messageOf(error: unknown, fallback: string): string {
  try {
    const text: unknown = error instanceof Error ? error.message : error;
    return typeof text === 'string' && text ? bounded(text) : fallback;
  } catch {
    return fallback;
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

function handlerError(tool: ReadyTool, e: unknown): WorkOutcome {
  const kind = e instanceof ToolDenied ? 'denied' : 'tool_error';
  return { kind, message: messageOf(e, `${tool.name} failed`), fault: faultOf(e) };
}

/** The gate's verdict as an outcome to answer with, or null to go on to the handler. */
function refusal(tool: ReadyTool, verdict: unknown): WorkOutcome | null {
  if (verdict === true) return null;
  const refused = `${tool.name} was refused`;
  if (verdict === false) return { kind: 'denied', message: refused };
  return { kind: 'denied', message: refused, fault: `TypeError: the gate returned ${typeof verdict}, not a boolean` };
}

function gateFailed(tool: ReadyTool, e: unknown): WorkOutcome {
  // A gate that fails, fails closed; only a ToolDenied's message is meant for the guest.
  const refused = `${tool.name} was refused`;
  if (e instanceof ToolDenied) return { kind: 'denied', message: messageOf(e, refused) };
  return { kind: 'denied', message: refused, fault: faultOf(e) };
}

function callHandler(work: Work, context: ToolContext): WorkOutcome | Promise<WorkOutcome> {
  const { tool, args } = work;
  const { handler } = tool; // called as a plain function: `this` is not the host's record of the tool
  let value: unknown;
  try {
    value = handler(args, context);
  } catch (e) {
    return handlerError(tool, e);
  }
  if (!isPromiseLike(value)) return { kind: 'ok', value };
  return Promise.resolve(value).then(
    (v): WorkOutcome => ({ kind: 'ok', value: v }),
    (e: unknown) => handlerError(tool, e),
  );
}

/**
 * The gate, then the handler, each synchronously where it is synchronous: a tool that answers at
 * once costs no timer and no promise hop (the common case, and most of a tool round trip).
 */
function gateAndHandler(work: Work, context: ToolContext, answered: () => boolean): WorkOutcome | Promise<WorkOutcome> {
  const { tool, seq, gate } = work;
  if (gate === null) return callHandler(work, context);
  let verdict: unknown;
  try {
    verdict = gate({ seq, tool: tool.name, args: copyArgs(work.args) });
  } catch (e) {
    return gateFailed(tool, e);
  }
  if (!isPromiseLike(verdict)) return refusal(tool, verdict) ?? callHandler(work, context);
  return Promise.resolve(verdict).then(
    (v) => {
      const refused = refusal(tool, v);
      if (refused !== null) return refused;
      if (answered()) return { kind: 'cancelled', message: `${tool.name} was not run: its call had ended` } as WorkOutcome;
      return callHandler(work, context);
    },
    (e: unknown) => gateFailed(tool, e),
  );
}

/** Runs the work; resolves at the first of: its end, its timeout, the turn's abort. Never rejects. */
export function runWork(work: Work): Promise<WorkOutcome> {
  const { tool, turn } = work;
  if (turn.aborted) return Promise.resolve({ kind: 'cancelled', message: `${tool.name} was cancelled` });
  // Made only when the handler reads `signal` or the call has to be stopped.
  let controller: AbortController | undefined;
  const context: ToolContext = {
    seq: work.seq,
    get signal() {
      controller ??= new AbortController();
      return controller.signal;
    },
  };
  let settled = false;
  let first: WorkOutcome | Promise<WorkOutcome>;
  try {
    first = gateAndHandler(work, context, () => settled);
  } catch (e) {
    first = { kind: 'tool_error', message: `${tool.name} failed`, fault: faultOf(e) };
  }
  if (!(first instanceof Promise)) {
    settled = true;
    return Promise.resolve(first);
  }
  const pending = first;
  return new Promise<WorkOutcome>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (outcome: WorkOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      turn.removeEventListener('abort', onAbort);
      resolve(outcome);
      if (outcome.kind === 'timeout' || outcome.kind === 'cancelled') {
        // As AbortSignal.timeout() and fetch() name their reasons.
        controller ??= new AbortController();
        controller.abort(new DOMException(outcome.message, outcome.kind === 'timeout' ? 'TimeoutError' : 'AbortError'));
      }
    };
    const onAbort = (): void => settle({ kind: 'cancelled', message: `${tool.name} was cancelled` });
    turn.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => settle({ kind: 'timeout', message: `${tool.name} timed out after ${tool.timeoutMs} ms` }), tool.timeoutMs);
    pending.then(settle, (e: unknown) => settle({ kind: 'tool_error', message: `${tool.name} failed`, fault: faultOf(e) }));
  });
}
