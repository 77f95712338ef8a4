// The embedder's hostCall, made total: whatever it returns or throws becomes
// an answer the backend can hand the guest (bytes, "no host" or a fault with
// a message for result.hostCallFaults). Nothing of it reaches the guest.
import type { HostCall } from './types.js';

/** What a backend gets from a wrapped hostCall: bytes, or none for "no host here" (-1). */
export interface HostAnswerBytes {
  bytes?: Buffer;
}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return `hostCall threw ${typeof e === 'string' ? JSON.stringify(e) : String(e)}`;
}

/**
 * A hostCall that always resolves with bytes or null, or rejects with an Error
 * whose message is the fault to record. Never throws synchronously.
 */
export function wrapHostCall(hostCall: HostCall): (request: Buffer) => Promise<HostAnswerBytes> {
  return async (request: Buffer) => {
    let answer: unknown;
    try {
      answer = await hostCall(request);
    } catch (e) {
      throw new Error(describeError(e));
    }
    if (answer === null) return {};
    if (typeof answer === 'string') return { bytes: Buffer.from(answer, 'utf8') };
    if (answer instanceof Uint8Array) {
      return { bytes: Buffer.isBuffer(answer) ? answer : Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength) };
    }
    throw new Error(`hostCall returned ${answer === undefined ? 'undefined' : typeof answer}: return a Buffer, Uint8Array, string or null`);
  };
}
