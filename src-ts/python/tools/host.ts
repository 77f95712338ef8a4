// The frame host: one request frame in, one answer frame out, each counted and recorded per turn.
// Nothing a guest sends, and nothing a gate or handler does, throws out of `answer`. Every frame's
// size is checked on its byte length before a byte of it is decoded, so one frame costs the event
// loop at most a 1 MiB decode, and the turn's count bounds how many there are.
import { checkConfig, type ReadyOptions, type ReadyTool } from './config.js';
import { bounded, cut, echo, encodeError, encodeOk, faultOf, frameId, parseFrame, ECHO_CHARS, type Json } from './frames.js';
import { runWork } from './run.js';
import {
  TOOL_ANSWER_BYTES,
  TOOL_PROTOCOL,
  TOOL_RECORD_CALLS,
  TOOL_REQUEST_BYTES,
  type PythonTool,
  type ToolCallRecord,
  type ToolErrorKind,
  type ToolHostOptions,
  type ToolRecord,
} from './types.js';
import { toWire } from './values.js';

/** A frame being answered: what its record says so far. */
interface Frame {
  seq: number;
  op: 'list' | 'call' | 'value' | null;
  tool: string | null;
  id: number | null;
  requestBytes: number;
  started: number;
  /** Set once its record is written: by its own answer, or by endTurn cancelling it. */
  answer: Buffer | null;
}

interface Turn {
  /** False for the state outside a session's turns (see HostMode.turnsOnly): every frame is refused. */
  active: boolean;
  /** The turn's one free value frame is taken. */
  valued: boolean;
  frames: number;
  calls: ToolCallRecord[];
  controller: AbortController;
  running: Set<Frame>;
  detach: () => void;
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/** How a session uses its host (a bare ToolHost, as the unit tests drive it, serves at any time). */
export interface HostMode {
  /**
   * Frames are answered only between beginTurn and endTurn: a frame sent while the session opens,
   * between turns, or while it closes (an `atexit` hook during `close()`) is refused `cancelled`
   * and never reaches a gate or a handler, as no turn record would show it.
   */
  turnsOnly: boolean;
}

/** What `answerValue` did with a value frame: its text when accepted, and the answer for the guest. */
export interface ValueAnswer {
  text: string | null;
  answer: Buffer;
}

export class ToolHost {
  /** The tools in MCP's field names, as a `list` answer sends them (frozen). */
  readonly descriptors: ReadonlyArray<Record<string, unknown>>;
  readonly #config: ReadyOptions;
  /** The `tools` array of a list answer, encoded once; null when over the answer cap. */
  readonly #listBody: string | null;
  readonly #turnsOnly: boolean;
  #turn: Turn;

  /** Throws ConfigError naming the bad field: a tool's name, schema, handler or timeout, or an option. */
  constructor(tools: PythonTool[], options?: ToolHostOptions, mode?: HostMode) {
    this.#config = checkConfig(tools, options);
    this.#turnsOnly = mode?.turnsOnly === true;
    this.descriptors = Object.freeze([...this.#config.tools.values()].map((t) => t.descriptor));
    const body = JSON.stringify(this.descriptors);
    this.#listBody = Buffer.byteLength(body) + 64 <= TOOL_ANSWER_BYTES ? body : null;
    this.#turn = this.#newTurn(false);
  }

  /** Starts a turn: the frame count and the record start again; `signal` cancels its running calls. */
  beginTurn(signal?: AbortSignal): void {
    this.#close(this.#turn);
    this.#turn = this.#newTurn(true, signal);
  }

  /** Ends the turn: its running calls are cancelled (their signals abort) and its record returned. */
  endTurn(): ToolRecord {
    const turn = this.#turn;
    this.#close(turn);
    this.#turn = this.#newTurn(false);
    return { frames: turn.frames, calls: turn.calls };
  }

  /** Answers one request frame. Never throws or rejects. */
  async answer(frame: Buffer): Promise<Buffer> {
    const turn = this.#turn;
    const bytes = frame instanceof Uint8Array ? frame : Buffer.alloc(0);
    const f: Frame = { seq: ++turn.frames, op: null, tool: null, id: null, requestBytes: bytes.length, started: performance.now(), answer: null };
    try {
      return await this.#answer(turn, f, bytes);
    } catch (e) {
      // A bug here must reach the guest as a protocol answer, not as a fault at its door.
      return this.#fail(turn, f, 'protocol', 'the host could not answer this frame (internal error)', faultOf(e));
    }
  }

  /**
   * A value frame: the repr of a turn's final expression, sent by the session's displayhook. The
   * guest can send as many as it likes, so each is bounded like a tool frame: a turn's first is
   * free (the one its final expression sends); each further one is a frame counted against
   * maxCallsPerTurn and listed in the record (op 'value'). Its size is checked before it is
   * decoded. Never throws.
   */
  answerValue(payload: Uint8Array, maxBytes: number): ValueAnswer {
    const turn = this.#turn;
    const free = turn.active && !turn.valued;
    turn.valued = true;
    const refused = (kind: ToolErrorKind, message: string, f: Frame | null): ValueAnswer => ({
      text: null,
      answer: f === null ? encodeError(null, kind, bounded(message)) : this.#fail(turn, f, kind, message),
    });
    let f: Frame | null = null;
    if (!free) {
      f = { seq: ++turn.frames, op: 'value', tool: null, id: null, requestBytes: payload.length, started: performance.now(), answer: null };
      const stop = this.#admit(turn, f);
      if (stop !== null) return { text: null, answer: stop };
    }
    if (payload.length > maxBytes) return refused('too_large', `the value is ${payload.length} bytes; at most ${maxBytes}`, f);
    const text = Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8');
    const answer = Buffer.alloc(0);
    if (f !== null) this.#note(turn, f, answer, 'ok');
    return { text, answer };
  }

  /** The refusals before a frame is read: outside a turn, over the turn's count. Null to go on. */
  #admit(turn: Turn, f: Frame): Buffer | null {
    if (!turn.active && this.#turnsOnly) {
      return this.#fail(turn, f, 'cancelled', 'no tool call runs outside a turn: the session is opening, between turns, or closing');
    }
    const max = this.#config.maxCallsPerTurn;
    if (f.seq > max) {
      return this.#fail(turn, f, 'budget_exceeded', `this turn allows ${max} tool frames; this was frame ${f.seq}`);
    }
    return null;
  }

  #newTurn(active: boolean, signal?: AbortSignal): Turn {
    const controller = new AbortController();
    let detach = (): void => {};
    if (signal !== undefined) {
      const onAbort = (): void => this.#cancelRunning(turn);
      if (signal.aborted) controller.abort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        detach = () => signal.removeEventListener('abort', onAbort);
      }
    }
    const turn: Turn = { active, valued: false, frames: 0, calls: [], controller, running: new Set(), detach };
    return turn;
  }

  #close(turn: Turn): void {
    turn.detach();
    this.#cancelRunning(turn);
  }

  /** Aborts the turn and records its running calls as cancelled at once, so the record is whole when returned. */
  #cancelRunning(turn: Turn): void {
    turn.controller.abort();
    for (const f of turn.running) {
      if (f.answer === null) this.#fail(turn, f, 'cancelled', `${f.tool ?? 'the call'} was cancelled`);
    }
    turn.running.clear();
  }

  #note(turn: Turn, f: Frame, answer: Buffer, outcome: 'ok' | ToolErrorKind, message?: string, fault?: string): Buffer {
    if (f.answer !== null) return f.answer; // already recorded (cancelled by endTurn): that answer stands
    f.answer = answer;
    if (turn.calls.length < TOOL_RECORD_CALLS) {
      const record: ToolCallRecord = { seq: f.seq, op: f.op, tool: f.tool, outcome, requestBytes: f.requestBytes, answerBytes: answer.length, elapsedMs: round(performance.now() - f.started) };
      if (message !== undefined) record.message = message;
      if (fault !== undefined) record.fault = fault;
      turn.calls.push(record);
    }
    return answer;
  }

  #fail(turn: Turn, f: Frame, kind: ToolErrorKind, message: string, fault?: string): Buffer {
    const shown = bounded(message);
    return this.#note(turn, f, encodeError(f.id, kind, shown), kind, shown, fault);
  }

  async #answer(turn: Turn, f: Frame, bytes: Uint8Array): Promise<Buffer> {
    const stop = this.#admit(turn, f);
    if (stop !== null) return stop;
    if (bytes.length > TOOL_REQUEST_BYTES) {
      return this.#fail(turn, f, 'too_large', `the frame is ${bytes.length} bytes; at most ${TOOL_REQUEST_BYTES} (1 MiB)`);
    }
    const parsed = parseFrame(bytes);
    if (!parsed.ok) return this.#fail(turn, f, 'protocol', parsed.message);
    const request = parsed.request;
    f.id = frameId(request);
    if (request.v !== TOOL_PROTOCOL) {
      const asked = 'v' in request ? echo(request.v) : 'none';
      return this.#fail(turn, f, 'protocol', `this host serves protocol version ${TOOL_PROTOCOL}; the frame asks for ${asked}`);
    }
    if (request.op === 'list') {
      f.op = 'list';
      if (this.#listBody === null) return this.#fail(turn, f, 'too_large', 'the tool list is over the 16 MiB answer cap');
      const answer = Buffer.from(`{"v":${TOOL_PROTOCOL},"id":${JSON.stringify(f.id)},"ok":true,"tools":${this.#listBody}}`, 'utf8');
      return this.#note(turn, f, answer, 'ok');
    }
    if (request.op !== 'call') {
      return this.#fail(turn, f, 'protocol', `unknown operation ${echo(request.op)}; this host serves list and call`);
    }
    f.op = 'call';
    if (typeof request.tool !== 'string') return this.#fail(turn, f, 'protocol', 'a call names its tool with a string');
    f.tool = cut(request.tool, ECHO_CHARS);
    const tool = this.#config.tools.get(request.tool);
    if (tool === undefined) {
      const offered = [...this.#config.tools.keys()].join(', ') || 'none';
      return this.#fail(turn, f, 'unknown_tool', `no tool named ${echo(request.tool)}; this host offers: ${offered}`);
    }
    return this.#call(turn, f, tool, request);
  }

  async #call(turn: Turn, f: Frame, tool: ReadyTool, request: Json): Promise<Buffer> {
    const args = request.args === undefined ? {} : request.args;
    if (args === null || typeof args !== 'object' || Array.isArray(args) || '$bytes' in args) {
      return this.#fail(turn, f, 'invalid_arguments', `${tool.name}: the arguments must be an object`);
    }
    const wrong = tool.schema.check(args as Json);
    if (wrong !== null) return this.#fail(turn, f, 'invalid_arguments', `${tool.name}: ${wrong}`);
    turn.running.add(f);
    const outcome = await runWork({ tool, args: args as Json, seq: f.seq, gate: this.#config.gate, turn: turn.controller.signal });
    turn.running.delete(f);
    if (f.answer !== null) return f.answer; // the turn ended while it ran
    if (outcome.kind !== 'ok') return this.#fail(turn, f, outcome.kind, outcome.message, outcome.fault);
    let wire;
    try {
      wire = toWire(outcome.value);
    } catch (e) {
      return this.#fail(turn, f, 'tool_error', `${tool.name} failed: its result could not be read`, faultOf(e));
    }
    if (!wire.ok) return this.#fail(turn, f, wire.kind, `${tool.name}: ${wire.message}`);
    const answer = encodeOk(f.id, { value: wire.value });
    if (answer.length > TOOL_ANSWER_BYTES) {
      return this.#fail(turn, f, 'too_large', `the result of ${tool.name} is ${answer.length} bytes encoded, over the ${TOOL_ANSWER_BYTES}-byte (16 MiB) cap`);
    }
    return this.#note(turn, f, answer, 'ok');
  }
}
