// One call's work, the gate then the handler, under the tool's timeout and the turn's signal.
// It settles once: whatever the work does after its call was answered (a late result, a late
// rejection) is dropped, never thrown, and the handler is never started once the call was answered.
import type { ReadyTool } from './config.js';
import { bounded, faultOf } from './frames.js';
import { ToolDenied, type ToolCallInfo, type ToolErrorKind } from './types.js';
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

async function gateAndHandler(work: Work, signal: AbortSignal, answered: () => boolean): Promise<WorkOutcome> {
  const { tool, args, seq, gate } = work;
  if (gate !== null) {
    const refused = `${tool.name} was refused`;
    let verdict: unknown;
    try {
      verdict = await gate({ seq, tool: tool.name, args: copyArgs(args) });
    } catch (e) {
      // A gate that fails, fails closed; only a ToolDenied's message is meant for the guest.
      if (e instanceof ToolDenied) return { kind: 'denied', message: messageOf(e, refused) };
      return { kind: 'denied', message: refused, fault: faultOf(e) };
    }
    if (verdict !== true) {
      if (verdict === false) return { kind: 'denied', message: refused };
      const fault = `TypeError: the gate returned ${typeof verdict}, not a boolean`;
      return { kind: 'denied', message: refused, fault };
    }
  }
  if (answered()) return { kind: 'cancelled', message: `${tool.name} was not run: its call had ended` };
  const { handler } = tool; // called as a plain function: `this` is not the host's record of the tool
  try {
    return { kind: 'ok', value: await handler(args, { signal, seq }) };
  } catch (e) {
    const kind = e instanceof ToolDenied ? 'denied' : 'tool_error';
    return { kind, message: messageOf(e, `${tool.name} failed`), fault: faultOf(e) };
  }
}

/** Runs the work; resolves at the first of: its end, its timeout, the turn's abort. Never rejects. */
export function runWork(work: Work): Promise<WorkOutcome> {
  const { tool, turn } = work;
  const controller = new AbortController();
  return new Promise<WorkOutcome>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (outcome: WorkOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      turn.removeEventListener('abort', onAbort);
      resolve(outcome);
      if (outcome.kind === 'timeout' || outcome.kind === 'cancelled') {
        // As AbortSignal.timeout() and fetch() name their reasons.
        controller.abort(new DOMException(outcome.message, outcome.kind === 'timeout' ? 'TimeoutError' : 'AbortError'));
      }
    };
    const onAbort = (): void => settle({ kind: 'cancelled', message: `${tool.name} was cancelled` });
    if (turn.aborted) return onAbort();
    turn.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => settle({ kind: 'timeout', message: `${tool.name} timed out after ${tool.timeoutMs} ms` }), tool.timeoutMs);
    gateAndHandler(work, controller.signal, () => settled).then(settle, (e: unknown) =>
      settle({ kind: 'tool_error', message: `${tool.name} failed`, fault: faultOf(e) }),
    );
  });
}
