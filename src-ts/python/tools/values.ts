// A handler's result as the JSON an answer carries, with its bytes as `{"$bytes": "<base64>"}`,
// checked for what JSON cannot say instead of letting JSON.stringify drop it or throw.
import { TOOL_ANSWER_BYTES, TOOL_NESTING } from './types.js';

/** Containers a value may nest, so that its answer frame (one level more) stays within TOOL_NESTING. */
const VALUE_NESTING = TOOL_NESTING - 1;

export type Converted =
  | { ok: true; value: unknown }
  | { ok: false; kind: 'tool_error' | 'too_large'; message: string };

class NotJson extends Error {}
class TooLarge extends Error {}

/** Objects JSON.stringify would turn into `{}` or a list of indices: refused, not sent wrong. */
const REFUSED: ReadonlyArray<[Function, string]> = [
  [Map, 'a Map'],
  [Set, 'a Set'],
  [WeakMap, 'a WeakMap'],
  [WeakSet, 'a WeakSet'],
  [Promise, 'a Promise (return it, do not nest it)'],
  [RegExp, 'a RegExp'],
  [DataView, 'a DataView'],
];

function bytesOf(value: object): Uint8Array | null {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return null;
}

/**
 * The result's JSON form: `undefined` at the top (a handler that returns nothing) is null, as
 * JSON.stringify drops it from an object and makes it null in an array; a function, symbol, bigint,
 * non-finite number, cycle, or nesting deeper than the protocol allows is refused. The size is
 * counted as it goes, so a result far over the answer cap is refused before it is encoded.
 */
export function toWire(value: unknown): Converted {
  const ancestors = new Set<object>();
  let size = 0;
  const charge = (n: number): void => {
    size += n;
    if (size > TOOL_ANSWER_BYTES) throw new TooLarge();
  };
  const convert = (v: unknown, depth: number): unknown => {
    switch (typeof v) {
      case 'undefined':
        charge(4);
        return null;
      case 'boolean':
        charge(5);
        return v;
      case 'string':
        charge(v.length + 2);
        return v;
      case 'number':
        if (!Number.isFinite(v)) throw new NotJson(`${v} is not a finite number`);
        charge(8);
        return v;
      case 'bigint':
        throw new NotJson('a bigint has no JSON form (convert it to a number or a string)');
      case 'symbol':
        throw new NotJson('a symbol has no JSON form');
      case 'function':
        throw new NotJson('a function has no JSON form');
    }
    if (v === null) {
      charge(4);
      return null;
    }
    const object = v as object;
    if (depth >= VALUE_NESTING) throw new NotJson(`the value nests deeper than ${VALUE_NESTING} levels`);
    const bytes = bytesOf(object);
    if (bytes !== null) {
      charge(Math.ceil(bytes.length / 3) * 4 + 12);
      return { $bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64') };
    }
    if (ArrayBuffer.isView(object)) {
      throw new NotJson(`a ${object.constructor.name} has no JSON form (send an array, or bytes)`);
    }
    for (const [type, name] of REFUSED) {
      if (object instanceof type) throw new NotJson(`${name} has no JSON form`);
    }
    if (ancestors.has(object)) throw new NotJson('the value holds a cycle');
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      ancestors.add(object);
      const out = convert(toJSON.call(object), depth);
      ancestors.delete(object);
      return out;
    }
    ancestors.add(object);
    let out: unknown;
    if (Array.isArray(object)) {
      charge(2);
      out = object.map((item) => {
        charge(1);
        return convert(item, depth + 1);
      });
    } else {
      charge(2);
      const entries: [string, unknown][] = [];
      for (const key of Object.keys(object)) {
        const item = (object as Record<string, unknown>)[key];
        if (item === undefined) continue; // as JSON.stringify: an absent key
        charge(key.length + 4);
        entries.push([key, convert(item, depth + 1)]);
      }
      if (entries.length === 1 && entries[0]![0] === '$bytes') {
        throw new NotJson('an object whose only key is "$bytes" would read as bytes');
      }
      out = Object.fromEntries(entries); // defines keys: a "__proto__" key stays a key
    }
    ancestors.delete(object);
    return out;
  };
  try {
    return { ok: true, value: convert(value, 0) };
  } catch (e) {
    if (e instanceof TooLarge) {
      return { ok: false, kind: 'too_large', message: `the result is over the ${TOOL_ANSWER_BYTES}-byte (16 MiB) answer cap` };
    }
    if (e instanceof NotJson) return { ok: false, kind: 'tool_error', message: `the result cannot be sent as JSON: ${e.message}` };
    throw e; // a getter or toJSON that threw: the caller reports it as the handler's error
  }
}

/** A deep copy of decoded arguments (plain JSON and Buffers), for a gate to read or change freely. */
export function copyArgs<T>(value: T): T {
  if (Buffer.isBuffer(value)) return Buffer.from(value) as T;
  if (Array.isArray(value)) return value.map((v) => copyArgs(v)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyArgs(v)])) as T;
  }
  return value;
}
