// The public shapes of the Python tool host (tool protocol 1) and the protocol's bounds.

/** A host function the Python guest calls as `from host import tools; tools.<name>(...)`. */
export interface PythonTool {
  /** The name the guest calls it by: a letter, then up to 63 letters, digits or `_`; not a Python keyword. */
  name: string;
  /** What the guest (and a model reading `help(tools)`) is told it does. */
  description?: string;
  /**
   * JSON Schema (2020-12 unless `$schema` names draft-07) of the arguments object; its root is
   * `{ type: 'object' }` and its property names are Python identifiers. Default
   * `{ type: 'object', properties: {} }`. Bytes are `{ type: 'string', contentEncoding: 'base64' }`
   * and reach the handler as a Buffer. `pattern` and `patternProperties` are matched by RE2's
   * linear-time engine (re2js): a pattern it cannot match in linear time (a lookaround, a
   * backreference) is refused. `examples` and `default` are not read, and a `$ref` into them
   * does not resolve.
   */
  inputSchema?: Record<string, unknown>;
  /** JSON Schema of the result: shown to the guest, never validated. */
  outputSchema?: Record<string, unknown>;
  /** MCP annotations (`readOnlyHint`, ...): shown to the guest; they grant nothing. */
  annotations?: Record<string, unknown>;
  /**
   * Runs once the arguments are valid and the gate allowed the call. May return a Promise. The
   * result is sent as JSON (a Buffer or Uint8Array as bytes). A thrown error reaches the guest only
   * as its message (at most 4096 characters), never its stack; `ToolDenied` answers `denied`.
   */
  handler: (args: Record<string, unknown>, context: ToolContext) => unknown;
  /** The longest one call may run (gate included), in ms; overrides `toolTimeoutMs`. */
  timeoutMs?: number;
}

export interface ToolContext {
  /** Aborted when the call times out or the turn ends or is aborted: stop work and return. */
  signal: AbortSignal;
  /** The frame's number in this turn, from 1. */
  seq: number;
}

/** What a gate sees of one call: the arguments validated and decoded (a copy of its own). */
export interface ToolCallInfo {
  seq: number;
  tool: string;
  args: Record<string, unknown>;
}

export type ToolErrorKind =
  | 'protocol'
  | 'unknown_tool'
  | 'invalid_arguments'
  | 'denied'
  | 'tool_error'
  | 'timeout'
  | 'cancelled'
  | 'too_large'
  | 'budget_exceeded';

/** One frame of a turn as the record lists it. */
export interface ToolCallRecord {
  /** The frame's number in this turn, from 1. */
  seq: number;
  /**
   * `null` when the frame was refused before its operation was read; `'value'` for a turn's
   * value frame past its first (the displayhook sends one; a guest that sends more pays for each).
   */
  op: 'list' | 'call' | 'value' | null;
  /** The tool's name, or the name the guest gave (at most 64 characters); `null` for a list. */
  tool: string | null;
  outcome: 'ok' | ToolErrorKind;
  /** What the guest was told, on a failure. */
  message?: string;
  /** An error not meant for the guest (a handler's or gate's): its type and first line, 200 characters. */
  fault?: string;
  requestBytes: number;
  answerBytes: number;
  elapsedMs: number;
}

/** Every frame of a turn counted; the first 1000 listed, in the order they were answered. */
export interface ToolRecord {
  frames: number;
  calls: ToolCallRecord[];
}

export interface ToolHostOptions {
  /** Asked before each call's handler, with validated arguments; anything but `true` (or a throw) denies it. */
  gate?: (call: ToolCallInfo) => boolean | Promise<boolean>;
  /**
   * Frames (lists, calls, and value frames past the turn's first) answered per turn; later ones
   * answer `budget_exceeded`. Default 100.
   */
  maxCallsPerTurn?: number;
  /** A call's bound (gate and handler), in ms, unless the tool sets its own. Default 10000. */
  toolTimeoutMs?: number;
}

/** Thrown by a handler or a gate to refuse a call with a message the guest reads (`denied`). */
export class ToolDenied extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolDenied';
  }
}

/** The protocol version this host serves. */
export const TOOL_PROTOCOL = 1;
/** A request frame's cap: a larger one answers `too_large` unread. */
export const TOOL_REQUEST_BYTES = 1 << 20;
/** An answer's cap: a result (or list) larger once encoded answers `too_large`. */
export const TOOL_ANSWER_BYTES = 16 << 20;
/** The deepest nesting of arrays and objects in a frame, its envelope included. */
export const TOOL_NESTING = 64;
/** The longest message the guest is told. */
export const TOOL_MESSAGE_CHARS = 4096;
/** The longest `fault` kept in the record. */
export const TOOL_FAULT_CHARS = 200;
/** The frames a record lists, whatever `maxCallsPerTurn` is. */
export const TOOL_RECORD_CALLS = 1000;
export const DEFAULT_MAX_CALLS_PER_TURN = 100;
export const DEFAULT_TOOL_TIMEOUT_MS = 10_000;
