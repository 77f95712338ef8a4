// Request frames in, answer frames out: the protocol's parse rules and its envelopes. Every check
// on guest bytes here is one linear pass, so a 1 MiB frame costs about a millisecond whatever it holds.
import {
  TOOL_FAULT_CHARS,
  TOOL_MESSAGE_CHARS,
  TOOL_NESTING,
  TOOL_PROTOCOL,
  type ToolErrorKind,
} from './types.js';

/** The longest piece of guest text a message repeats. */
export const ECHO_CHARS = 64;
/** The longest number literal a frame may hold (as the reference host). */
const NUMBER_CHARS = 64;
const MAX_ID = Number.MAX_SAFE_INTEGER;
const LONE_SURROGATE = /\p{Cs}/u;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export type Json = Record<string, unknown>;
export type Parsed = { ok: true; request: Json } | { ok: false; message: string };

/** The first `n` UTF-16 units of a text, never ending on half a surrogate pair. */
export function cut(text: string, n: number): string {
  if (text.length <= n) return text;
  const code = text.charCodeAt(n - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}

/** A message for the guest, bounded. */
export function bounded(message: string): string {
  return cut(message, TOOL_MESSAGE_CHARS);
}

/** A piece of guest text for a message: a string cut to 64 characters, anything else by its kind. */
export function echo(value: unknown): string {
  if (typeof value === 'string') {
    return `'${value.length > ECHO_CHARS ? `${cut(value, ECHO_CHARS)}...` : value}'`;
  }
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (value === undefined) return 'none';
  return `a ${typeof value}`;
}

/** An error's type and first line, for the record: never shown to the guest. Total: a hostile
 * error (a symbol for a name, a throwing getter) gives what can be read of it. */
export function faultOf(error: unknown): string {
  let name = 'an exception';
  let text = '';
  try {
    if (error instanceof Error) {
      const own = error.name;
      name = typeof own === 'string' && own ? own : 'Error';
      text = typeof error.message === 'string' ? error.message : '';
    } else {
      name = typeof error;
      text = String(error);
    }
  } catch {
    // What was read so far.
  }
  const first = text.trim().split('\n', 1)[0] ?? '';
  return cut(first ? `${name}: ${first}` : name, TOOL_FAULT_CHARS);
}

/**
 * What a frame's bytes break before they are parsed: nesting deeper than TOOL_NESTING, a number
 * literal longer than 64 characters, or an integer JS would read inexactly (beyond 2^53 - 1).
 * Brackets, quotes and backslashes are ASCII, which never occurs inside a UTF-8 sequence, so the
 * bytes are scanned directly.
 */
export function scan(bytes: Uint8Array): string | null {
  let depth = 0;
  let inside = false;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (inside) {
      if (b === 0x5c) i++; // a backslash: the next byte is escaped
      else if (b === 0x22) inside = false;
      continue;
    }
    if (b === 0x22) inside = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > TOOL_NESTING) return `the frame nests deeper than ${TOOL_NESTING} levels`;
    } else if (b === 0x5d || b === 0x7d) depth--;
    else if (b === 0x2d || (b >= 0x30 && b <= 0x39)) {
      let j = i;
      let integer = true;
      while (j < n) {
        const c = bytes[j]!;
        if (c === 0x2e || c === 0x65 || c === 0x45) integer = false;
        else if (!(c === 0x2b || c === 0x2d || (c >= 0x30 && c <= 0x39))) break;
        j++;
      }
      const length = j - i;
      if (length > NUMBER_CHARS) return `a number of ${length} characters; at most ${NUMBER_CHARS}`;
      if (integer && length > 15) {
        const text = Buffer.from(bytes.buffer, bytes.byteOffset + i, length).toString('latin1');
        if (!Number.isSafeInteger(Number(text))) {
          return `the integer ${text} is beyond 2^53 - 1, which this host cannot read exactly`;
        }
      }
      i = j - 1;
    }
  }
  return null;
}

/** Strict base64: the standard alphabet, padded, with no stray bits (it re-encodes to itself). */
export function isStrictBase64(text: string): boolean {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return false;
  return Buffer.from(text, 'base64').toString('base64') === text;
}

/** `{"$bytes": "<base64>"}`, as the parse checked it. */
export function isBytesObject(value: unknown): value is { $bytes: string } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === '$bytes' && typeof (value as Json).$bytes === 'string';
}

/** Finite numbers, no lone surrogate in a string or a key, and each `$bytes` object well formed. */
function check(value: unknown): string | null {
  if (typeof value === 'string') {
    return LONE_SURROGATE.test(value) ? `a string holds a lone surrogate: ${echo(value)}` : null;
  }
  if (typeof value === 'number') {
    return Number.isFinite(value) ? null : 'a number is out of range';
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      const why = check(item);
      if (why !== null) return why;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    const object = value as Json;
    if ('$bytes' in object) {
      const data = object.$bytes;
      if (Object.keys(object).length !== 1 || typeof data !== 'string') {
        return 'a "$bytes" object must have that one key, holding a string';
      }
      if (!isStrictBase64(data)) return 'a "$bytes" value is not strict base64';
      return null;
    }
    for (const key of Object.keys(object)) {
      if (LONE_SURROGATE.test(key)) return `a key holds a lone surrogate: ${echo(key)}`;
      // JSON.parse makes it an own key, but Object.assign or a copy by assignment in a handler
      // would set the copy's prototype from it.
      if (key === '__proto__') return 'the key "__proto__" is refused: JavaScript reads it as a prototype';
      const why = check(object[key]);
      if (why !== null) return why;
    }
  }
  return null;
}

/** A request frame parsed under the protocol's rules; `$bytes` objects are left as they are. */
export function parseFrame(bytes: Uint8Array): Parsed {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, message: 'the frame is not UTF-8' };
  }
  const refused = scan(bytes);
  if (refused !== null) return { ok: false, message: refused };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const first = cut((e instanceof Error ? e.message : String(e)).split('\n', 1)[0]!, 200);
    return { ok: false, message: `the frame is not JSON (${first})` };
  }
  const why = check(value); // recursion bounded by the scan's nesting cap
  if (why !== null) return { ok: false, message: why };
  if (value === null || typeof value !== 'object' || Array.isArray(value) || '$bytes' in value) {
    return { ok: false, message: 'the frame is not a JSON object' };
  }
  return { ok: true, request: value as Json };
}

/** The frame's id when it is one the protocol allows (an integer 0..2^53-1), else null. */
export function frameId(request: Json): number | null {
  const id = request.id;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= MAX_ID ? id : null;
}

export function encodeOk(id: number | null, body: Json): Buffer {
  return Buffer.from(JSON.stringify({ v: TOOL_PROTOCOL, id, ok: true, ...body }), 'utf8');
}

export function encodeError(id: number | null, kind: ToolErrorKind, message: string): Buffer {
  const error = { kind, message: bounded(message) };
  return Buffer.from(JSON.stringify({ v: TOOL_PROTOCOL, id, ok: false, error }), 'utf8');
}
