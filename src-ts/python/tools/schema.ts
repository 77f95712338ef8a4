// A tool's input schema, compiled once with Ajv, and each call's arguments checked against it.
//
// Ajv is given a rewritten copy of the schema, so that what a guest sends cannot make the check
// slow or wrong:
// - every node counts one step per visit against a budget (a `oneOf` nested on itself can
//   otherwise cost 2^depth visits): past it the arguments are "too complex to check";
// - `uniqueItems` is checked with a hash of each item, not Ajv's pairwise comparison (quadratic:
//   20,000 one-item arrays take 5 s);
// - `pattern` and `patternProperties` are compiled with RE2's engine (regex.ts), linear in the
//   text: V8's backtracks, and a guest's text can make it run for minutes;
// - Ajv may be sent by a `$ref` (a JSON pointer) to any object in the schema, not only to those
//   that are schemas: so every object it can reach is a rewritten schema, a map of them, or
//   something it refuses to compile. `examples`, `default` and `$vocabulary` (which Ajv does
//   not act on here) are dropped, `const` and `enum` are carried as JSON text, and a `true`/`false` in a map of
//   schemas becomes `{}`/`{"not": {}}`;
// - bytes (`{"type": "string", "contentEncoding": "base64"}`) are matched in their wire form,
//   `{"$bytes": "<base64>"}`, and only there; after the check they are decoded to Buffers, and a
//   `$bytes` object anywhere else is refused, as the reference host refuses bytes where its schema
//   does not say bytes.
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, FuncKeywordDefinition, Options, SchemaValidateFunction, ValidateFunction } from 'ajv';
import { moduleUrl } from '../../module-url.js';
import { cut, echo, isBytesObject, type Json } from './frames.js';
import { linearRegExp } from './regex.js';

const STEP = 'x-mimobox-step';
const BYTES = 'x-mimobox-bytes';
const UNIQUE = 'x-mimobox-unique';
const CONST = 'x-mimobox-const';
const ENUM = 'x-mimobox-enum';
/**
 * Schema nodes visited per call, as on the reference host. A visit costs Ajv 0.1 to 1 us (the
 * dearer ones in a `oneOf` that keeps its branches' errors), so one check blocks the event loop
 * for 100 ms at the very worst; a flat array of 100,000 items checked against an `items` schema
 * is about the most that passes.
 */
export const VALIDATION_STEPS = 100_000;
const SCHEMA_DEPTH = 256;

/** Keywords whose value is one subschema, a map of them, or a list of them. */
const ONE = ['additionalProperties', 'additionalItems', 'contains', 'propertyNames', 'not', 'if', 'then', 'else', 'unevaluatedItems', 'unevaluatedProperties', 'contentSchema', 'items'];
const MAP = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas', 'dependencies'];
const LIST = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
/**
 * Keywords Ajv does not act on in a tool's schema whose values are objects no `$ref` must reach:
 * Ajv would compile them unrewritten (`$vocabulary` only means something in a meta-schema).
 */
const DROPPED = ['examples', 'default', '$vocabulary'];
const DRAFT_07 = /^https?:\/\/json-schema\.org\/draft-07\/schema#?$/;

/** The state of the one check running now: validation is synchronous, so one slot serves all. */
let steps = 0;
let matchedBytes: Set<object> | null = null;
class TooComplex extends Error {}

/**
 * Counts work against the running check's budget; past it the check stops as too complex. Only
 * while a check runs: Ajv also matches patterns when it checks a new schema against its
 * meta-schema, which must not spend (or fail on) what the last check left.
 */
function charge(n: number): void {
  if (matchedBytes === null) return; // no check running
  steps += n;
  if (steps > VALIDATION_STEPS) throw new TooComplex();
}

export class SchemaRefused extends Error {}

interface BytesRule {
  minLength?: number;
  maxLength?: number;
  also: string[];
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** A key equal for two items exactly when they are equal as JSON (objects' keys in any order). */
function itemKey(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(itemKey).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${itemKey((value as Json)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function bytesLength(base64: string): number {
  const pad = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - pad;
}

function bytesError(message: string): Partial<ErrorObject>[] {
  return [{ keyword: BYTES, message, params: {} }];
}

type AjvClass = new (options: Options) => Ajv;
let ajvClasses: { draft07: AjvClass; draft2020: AjvClass } | undefined;

/**
 * Ajv, loaded at the first schema compiled: it takes tens of milliseconds to load, which
 * `import('mimobox-wasm/python')` and sessions without tools should not pay.
 */
function ajvClass(draft07: boolean): AjvClass {
  if (ajvClasses === undefined) {
    const require = createRequire(moduleUrl);
    ajvClasses = {
      draft07: (require('ajv') as { Ajv: AjvClass }).Ajv,
      draft2020: (require('ajv/dist/2020') as { Ajv2020: AjvClass }).Ajv2020,
    };
  }
  return draft07 ? ajvClasses.draft07 : ajvClasses.draft2020;
}

type Equal = (a: unknown, b: unknown) => boolean;
let ajvEqual: Equal | undefined;

/** Ajv's own deep equality (as its `const` and `enum` use), loaded with Ajv. */
function equal(): Equal {
  ajvEqual ??= (createRequire(moduleUrl)('ajv/dist/runtime/equal') as { default: Equal }).default;
  return ajvEqual;
}

type DataCheck = ReturnType<NonNullable<FuncKeywordDefinition['compile']>>;

/** A keyword carrying a JSON value as text, checked by `accepts` with the message Ajv's own gives. */
function valueKeyword(ajv: Ajv, keyword: string, shown: string, message: string, accepts: (wanted: unknown, data: unknown) => boolean): void {
  ajv.addKeyword({
    keyword,
    schemaType: 'string',
    errors: true,
    compile: (text: string): DataCheck => {
      const wanted: unknown = JSON.parse(text);
      const check: DataCheck = (data: unknown): boolean => {
        if (accepts(wanted, data)) return true;
        check.errors = [{ keyword: shown, message, params: {} }];
        return false;
      };
      return check;
    },
  });
}

/** `const` and `enum`, from their JSON text: the same check (Ajv's deep equality) as Ajv's own. */
function addValueKeywords(ajv: Ajv): void {
  const same = equal();
  valueKeyword(ajv, CONST, 'const', 'must be equal to constant', (wanted, data) => same(data, wanted));
  valueKeyword(ajv, ENUM, 'enum', 'must be equal to one of the allowed values', (wanted, data) => (wanted as unknown[]).some((v) => same(data, v)));
}

function makeAjv(draft07: boolean): Ajv {
  const options = {
    code: { regExp: linearRegExp((n) => charge(n)) },
    strictTypes: false,
    strictTuples: false,
    allowUnionTypes: true,
    validateFormats: false, // `format` is an annotation here, as on the reference host
    addUsedSchema: false, // two tools may carry the same $id
    logger: false as const,
  };
  const Class = ajvClass(draft07);
  const ajv = new Class(options);
  ajv.addKeyword({
    keyword: STEP,
    schemaType: 'boolean',
    validate: () => {
      charge(1);
      return true;
    },
  });
  addValueKeywords(ajv);
  const unique: SchemaValidateFunction = (_schema: boolean, data: unknown): boolean => {
    if (!Array.isArray(data)) return true;
    // Scalars keyed by themselves (a Map tells 1 from '1'); containers by a canonical text.
    const scalars = new Map<unknown, number>();
    const containers = new Map<string, number>();
    for (let i = 0; i < data.length; i++) {
      const item: unknown = data[i];
      const object = item !== null && typeof item === 'object';
      const seen: Map<unknown, number> = object ? containers : scalars;
      const key = object ? itemKey(item) : item;
      const j = seen.get(key);
      if (j !== undefined) {
        unique.errors = [{ keyword: UNIQUE, message: `must NOT have duplicate items (items ${j} and ${i} are identical)`, params: {} }];
        return false;
      }
      seen.set(key, i);
    }
    return true;
  };
  ajv.addKeyword({ keyword: UNIQUE, schemaType: 'boolean', errors: true, validate: unique });
  const bytes: SchemaValidateFunction = (rule: BytesRule, data: unknown): boolean => {
    if (isBytesObject(data)) {
      const n = bytesLength(data.$bytes);
      if (rule.minLength !== undefined && n < rule.minLength) {
        bytes.errors = bytesError(`must NOT have fewer than ${rule.minLength} bytes`);
        return false;
      }
      if (rule.maxLength !== undefined && n > rule.maxLength) {
        bytes.errors = bytesError(`must NOT have more than ${rule.maxLength} bytes`);
        return false;
      }
      matchedBytes?.add(data);
      return true;
    }
    const type = jsonType(data);
    if (rule.also.includes(type) || (type === 'integer' && rule.also.includes('number'))) return true;
    bytes.errors = bytesError(`must be bytes${rule.also.length ? ` or ${rule.also.join(',')}` : ''}`);
    return false;
  };
  ajv.addKeyword({ keyword: BYTES, schemaType: 'object', errors: true, validate: bytes });
  return ajv;
}

/**
 * The Ajv instances, one per draft, each replaced after COMPILED_KEPT compiles: Ajv keeps some state
 * for every schema it compiled (about 6 KB, removeSchema or not), which a server that opens
 * sessions with ever new schemas must not accumulate. A replaced instance is collected once the
 * checks it compiled are no longer kept.
 */
const instances = new Map<boolean, { ajv: Ajv; compiles: number }>();

function ajvFor(draft07: boolean): Ajv {
  let entry = instances.get(draft07);
  if (entry === undefined || entry.compiles >= COMPILED_KEPT) {
    entry = { ajv: makeAjv(draft07), compiles: 0 };
    instances.set(draft07, entry);
  }
  entry.compiles++;
  return entry.ajv;
}

/**
 * An entry of a map of schemas. A `$ref` may name the map itself as a schema, whose keywords are
 * then its entries: a boolean entry (`{"uniqueItems": true}`) would be a keyword Ajv checks
 * unrewritten, so booleans become the schemas they mean. Arrays (draft-07 `dependencies`) stay.
 */
function mapEntry(c: unknown, path: string, depth: number): unknown {
  if (Array.isArray(c)) return c;
  if (c === true) return rewrite({}, path, depth);
  if (c === false) return rewrite({ not: {} }, path, depth);
  return rewrite(c, path, depth);
}

/** The copy Ajv compiles: see the top of this file. Throws SchemaRefused. */
function rewrite(node: unknown, path: string, depth: number): unknown {
  if (depth > SCHEMA_DEPTH) throw new SchemaRefused(`${path}: nests deeper than ${SCHEMA_DEPTH} levels`);
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return node; // Ajv judges it
  const out: Json = { ...(node as Json) };
  for (const key of DROPPED) delete out[key];
  if ('const' in out) {
    out[CONST] = JSON.stringify(out.const);
    delete out.const;
  }
  if (Array.isArray(out.enum)) {
    out[ENUM] = JSON.stringify(out.enum);
    delete out.enum;
  }
  for (const key of ONE) {
    const child = out[key];
    if (child !== null && typeof child === 'object' && !Array.isArray(child)) out[key] = rewrite(child, `${path}/${key}`, depth + 1);
  }
  for (const key of LIST) {
    const list = out[key];
    if (Array.isArray(list)) out[key] = list.map((c, i) => rewrite(c, `${path}/${key}/${i}`, depth + 1));
  }
  for (const key of MAP) {
    const map = out[key];
    if (map === null || typeof map !== 'object' || Array.isArray(map)) continue;
    out[key] = Object.fromEntries(Object.entries(map as Json).map(([k, c]) => [k, mapEntry(c, `${path}/${key}/${k}`, depth + 1)]));
  }
  if (out.uniqueItems === true) out[UNIQUE] = true;
  delete out.uniqueItems;
  const types = typeof out.type === 'string' ? [out.type] : Array.isArray(out.type) ? out.type : null;
  if (out.contentEncoding === 'base64' && types !== null && types.includes('string')) {
    const rule: BytesRule = { also: types.filter((t): t is string => typeof t === 'string' && t !== 'string') };
    if (typeof out.minLength === 'number') rule.minLength = out.minLength;
    if (typeof out.maxLength === 'number') rule.maxLength = out.maxLength;
    delete out.type;
    delete out.minLength;
    delete out.maxLength;
    delete out.contentEncoding;
    out[BYTES] = rule;
  }
  out[STEP] = true;
  return out;
}

/** A compiled input schema: `check` gives null (the arguments, with bytes decoded in place) or what is wrong. */
export interface CompiledSchema {
  check(args: Json): string | null;
}

/**
 * Compiled checks by schema text. A server gives each session the same tools: this spares a
 * compile per tool per session (several ms each), and bounds what Ajv keeps.
 */
const COMPILED_KEPT = 256;
const compiled = new Map<string, CompiledSchema>();

/** Compiles a tool's input schema (a plain JSON copy). Throws SchemaRefused or Ajv's own error. */
export function compileSchema(schema: Json): CompiledSchema {
  const draft07 = typeof schema.$schema === 'string' && DRAFT_07.test(schema.$schema);
  const key = `${draft07 ? '07' : '2020'}:${JSON.stringify(schema)}`;
  const kept = compiled.get(key);
  if (kept !== undefined) {
    compiled.delete(key); // most recently used last
    compiled.set(key, kept);
    return kept;
  }
  const ajv = ajvFor(draft07);
  const rewritten = rewrite(schema, '#', 0) as Json;
  const validate: ValidateFunction = ajv.compile(rewritten);
  ajv.removeSchema(rewritten); // Ajv would keep every schema it compiled, for the process's life
  const check: CompiledSchema = { check: (args) => run(validate, args) };
  compiled.set(key, check);
  if (compiled.size > COMPILED_KEPT) compiled.delete(compiled.keys().next().value!);
  return check;
}

function run(validate: ValidateFunction, args: Json): string | null {
  const matched = new Set<object>();
  steps = 0;
  matchedBytes = matched;
  let valid: boolean;
  try {
    valid = validate(args) as boolean;
  } catch (e) {
    // The step budget, or a $ref loop that never descends into the value (a stack overflow).
    if (e instanceof TooComplex || e instanceof RangeError) return 'the arguments are too complex to check';
    throw e;
  } finally {
    matchedBytes = null;
  }
  if (!valid) return describe(validate.errors?.[0]);
  return decodeBytes(args, matched, '');
}

function describe(error: ErrorObject | undefined): string {
  if (error === undefined) return 'the arguments are not valid';
  const where = error.instancePath.length > 200 ? `${cut(error.instancePath, 200)}...` : error.instancePath;
  let text = `${where ? `${where} ` : ''}${error.message ?? 'is not valid'}`;
  const extra = (error.params as { additionalProperty?: unknown }).additionalProperty;
  if (error.keyword === 'additionalProperties' && extra !== undefined) text += ` (${echo(extra)})`;
  return text;
}

/** Each `$bytes` object the schema matched as bytes made a Buffer; any other is refused. */
function decodeBytes(value: unknown, matched: Set<object>, path: string): string | null {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const why = decodeItem(value as unknown as Json, i, matched, path);
      if (why !== null) return why;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const why = decodeItem(value as Json, key, matched, path);
      if (why !== null) return why;
    }
  }
  return null;
}

function decodeItem(container: Record<string | number, unknown>, key: string | number, matched: Set<object>, path: string): string | null {
  const item = container[key];
  if (item === null || typeof item !== 'object') return null;
  const at = `${path}/${key}`;
  if (!isBytesObject(item)) return decodeBytes(item, matched, at);
  if (!matched.has(item)) {
    const shown = at.length > 200 ? `${cut(at, 200)}...` : at;
    return `${shown} holds bytes where the schema does not say {"type": "string", "contentEncoding": "base64"}`;
  }
  container[key] = Buffer.from(item.$bytes, 'base64');
  return null;
}
