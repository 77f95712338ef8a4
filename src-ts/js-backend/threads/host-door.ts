// The guest's `host.call(ptr, len, out_ptr_ptr, out_len_ptr) -> i32` import on
// the JS backend. The guest runs synchronously in a worker, the `hostCall`
// function on the main thread (it may be async), so the two meet over a
// MessageChannel: the worker posts the request and blocks on a shared cell
// (Atomics.wait); the main thread answers on the channel, then wakes the cell;
// the worker takes the answer with receiveMessageOnPort (no event loop needed)
// and places it in guest memory through the guest's own `host_alloc(len)`.
// The main thread never blocks; a blocked worker is ended by the run's deadline
// or abort, which closes the door (waking the cell) and terminates the thread.
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { wrapHostCall, type HostAnswerBytes } from '../../shared/host-call.js';
import { HOST_CALL_MAX_BYTES, type HostCall } from '../../shared/types.js';

/** What the worker gets: its end of the channel and the cell it waits on. */
export interface DoorEnd {
  port: MessagePort;
  /** Int32 cells: [0] 0 waiting, 1 answered, 2 closed (the run is being stopped); [1] faults past the cap, counted. */
  cell: SharedArrayBuffer;
}

type ToHost = { request: Uint8Array } | { fault: string };
type ToGuest = { status: 0; answer: Uint8Array } | { status: -1 | -2 };

const ANSWERED = 1;
const CLOSED = 2;
/** Faults kept per run: a guest looping on bad requests must not grow the host's memory. */
export const MAX_RECORDED_FAULTS = 100;

const capFault = (what: 'request' | 'answer', n: number): string =>
  `the ${what} of ${n} bytes is over the 16 MiB cap (HOST_CALL_MAX_BYTES)`;
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

// ---- main thread ---------------------------------------------------------------

/** The main thread's end of one worker's door: serves requests with `hostCall`, records faults. */
export class HostDoor {
  readonly end: DoorEnd;
  private readonly port: MessagePort;
  private readonly cell: Int32Array;
  private faults: string[] = [];
  private dropped = 0;
  private closed = false;
  /** Set from the start of close(): a request still in the channel is not served. */
  private closing = false;

  /** The embedder's hostCall made total, as the native backend calls it (host-call.ts). */
  private readonly answerOf: (request: Buffer) => Promise<HostAnswerBytes>;

  constructor(hostCall: HostCall) {
    this.answerOf = wrapHostCall(hostCall);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.cell = new Int32Array(new SharedArrayBuffer(8));
    this.end = { port: port2, cell: this.cell.buffer as SharedArrayBuffer };
    port1.on('message', (m: ToHost) => this.receive(m));
    // The worker (ref'd while it runs) and the hostCall's own work keep the process alive, not the door.
    port1.unref();
  }

  /** The faults recorded since the last take, after reading what the worker already posted. */
  takeFaults(): string[] {
    this.drain();
    const out = this.faults;
    this.dropped += Atomics.exchange(this.cell, 1, 0);
    if (this.dropped > 0) out.push(`... and ${this.dropped} more host.call faults (only the first ${MAX_RECORDED_FAULTS} are kept)`);
    this.faults = [];
    this.dropped = 0;
    return out;
  }

  /** Stops serving (faults already posted are kept for takeFaults): a pending answer is dropped, and a worker waiting on the door wakes up to be stopped. */
  close(): void {
    if (this.closed) return;
    this.closing = true;
    this.drain();
    this.closed = true;
    Atomics.store(this.cell, 0, CLOSED);
    Atomics.notify(this.cell, 0);
    this.port.close();
  }

  /** Messages posted before the worker's result: the result travels on another port, so read these first. */
  private drain(): void {
    if (this.closed) return;
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) this.receive(m.message as ToHost);
  }

  private record(fault: string): void {
    if (this.faults.length < MAX_RECORDED_FAULTS) this.faults.push(fault);
    else this.dropped++;
  }

  private receive(m: ToHost): void {
    if ('fault' in m) this.record(m.fault);
    else if (!this.closing) void this.serve(Buffer.from(m.request.buffer, m.request.byteOffset, m.request.byteLength));
  }

  private async serve(request: Buffer): Promise<void> {
    let answer: HostAnswerBytes;
    try {
      answer = await this.answerOf(request);
    } catch (e) {
      if (this.closed) return;
      this.record(messageOf(e));
      this.reply({ status: -2 });
      return;
    }
    if (this.closed) return; // the run ended meanwhile (deadline, abort): the answer has no one to go to
    const bytes = answer.bytes;
    if (bytes === undefined) {
      this.reply({ status: -1 });
      return;
    }
    if (bytes.byteLength > HOST_CALL_MAX_BYTES) {
      this.record(capFault('answer', bytes.byteLength));
      this.reply({ status: -2 });
      return;
    }
    // A copy the worker owns: the caller's buffer may be a slice of Node's pool, or be reused.
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    this.reply({ status: 0, answer: copy }, [copy.buffer]);
  }

  private reply(m: ToGuest, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(m, transfer);
    Atomics.store(this.cell, 0, ANSWERED);
    Atomics.notify(this.cell, 0);
  }
}

// ---- worker thread -------------------------------------------------------------

/** Thrown into the guest when the door closes under it: the run is being stopped. */
export class DoorClosed extends Error {}

export interface GuestAccess {
  memory(): WebAssembly.Memory | undefined;
  /** The guest's `host_alloc(len) -> ptr` export, when it has one of that type. */
  alloc(): ((len: number) => unknown) | undefined;
}

/** The worker's end: the `host.call` import itself. */
export class GuestDoor {
  private readonly cell: Int32Array;
  private faults = 0;

  constructor(private readonly end: DoorEnd, private readonly guest: GuestAccess) {
    this.cell = new Int32Array(end.cell);
  }

  /** A new session call: its faults are counted afresh. */
  resetFaults(): void {
    this.faults = 0;
  }

  readonly call = (ptr: number, len: number, outPtrPtr: number, outLenPtr: number): number => {
    const n = len >>> 0;
    const p = ptr >>> 0;
    if (n > HOST_CALL_MAX_BYTES) return this.fault(capFault('request', n));
    const memory = this.guest.memory();
    if (!memory || p + n > memory.buffer.byteLength) {
      return this.fault(`the request at ${p} of ${n} bytes is outside the guest's memory (${memory?.buffer.byteLength ?? 0} bytes)`);
    }
    const request = new Uint8Array(n);
    request.set(new Uint8Array(memory.buffer, p, n));
    // Ready for the next answer, unless the door closed meanwhile (then never wait).
    if (Atomics.compareExchange(this.cell, 0, ANSWERED, 0) === CLOSED) throw new DoorClosed('host.call: the run is being stopped');
    this.end.port.postMessage({ request } satisfies ToHost, [request.buffer]);
    Atomics.wait(this.cell, 0, 0);
    const reply = Atomics.load(this.cell, 0) === CLOSED ? undefined : receiveMessageOnPort(this.end.port)?.message as ToGuest | undefined;
    if (!reply) throw new DoorClosed('host.call: the run was stopped while the host was answering');
    if (reply.status !== 0) return reply.status;
    return this.place(reply.answer, outPtrPtr >>> 0, outLenPtr >>> 0);
  };

  /** Puts the answer where the guest's allocator says, then its pointer and length at the out pointers. */
  private place(answer: Uint8Array, outPtrPtr: number, outLenPtr: number): number {
    const alloc = this.guest.alloc();
    if (!alloc) return this.fault('the guest exports no host_alloc(len: i32) -> i32 to place the answer in');
    // The guest's own code: it counts fuel and may trap (the trap is the guest's).
    const at = Number(alloc(answer.byteLength)) >>> 0;
    const memory = this.guest.memory();
    const size = memory?.buffer.byteLength ?? 0;
    if (!memory || at === 0 || at + answer.byteLength > size) {
      return this.fault(`the guest's host_alloc(${answer.byteLength}) returned ${at}, not a block inside its memory (${size} bytes)`);
    }
    if (outPtrPtr + 4 > size || outLenPtr + 4 > size) {
      return this.fault(`the out pointers ${outPtrPtr} and ${outLenPtr} are not inside the guest's memory (${size} bytes)`);
    }
    new Uint8Array(memory.buffer, at, answer.byteLength).set(answer);
    const view = new DataView(memory.buffer);
    view.setUint32(outPtrPtr, at, true);
    view.setUint32(outLenPtr, answer.byteLength, true);
    return 0;
  }

  private fault(message: string): number {
    // Past the cap only a count crosses (one shared add), not a message per fault.
    if (this.faults++ < MAX_RECORDED_FAULTS) this.end.port.postMessage({ fault: message } satisfies ToHost);
    else Atomics.add(this.cell, 1, 1);
    return -2;
  }
}
