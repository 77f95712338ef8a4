// The tools and options a ToolHost is made with, checked once: each mistake a ConfigError naming
// its field, so that nothing about the tools themselves can fail later, during a turn.
import { ConfigError } from '../../shared/errors.js';
import { compileSchema, type CompiledSchema } from './schema.js';
import {
  DEFAULT_MAX_CALLS_PER_TURN,
  DEFAULT_TOOL_TIMEOUT_MS,
  type PythonTool,
  type ToolCallInfo,
  type ToolHostOptions,
} from './types.js';

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const IDENTIFIER = /^[\p{ID_Start}_][\p{ID_Continue}]*$/u;
/** The longest timer Node keeps (a larger delay fires at once). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const PYTHON_KEYWORDS = new Set(
  ('False None True and as assert async await break class continue def del elif else except ' +
    'finally for from global if import in is lambda nonlocal not or pass raise return try while with yield').split(' '),
);
/** Other frameworks' names for the input schema: a tool that carries one means inputSchema. */
const OTHER_SCHEMA_FIELDS = ['parameters', 'input_schema', 'inputSchemaJson', 'schema'];

type Json = Record<string, unknown>;

/** A tool as the host keeps it: checked, with its schema compiled. */
export interface ReadyTool {
  name: string;
  handler: PythonTool['handler'];
  timeoutMs: number;
  schema: CompiledSchema;
  descriptor: Readonly<Json>;
}

export interface ReadyOptions {
  gate: ((call: ToolCallInfo) => boolean | Promise<boolean>) | null;
  maxCallsPerTurn: number;
  tools: ReadonlyMap<string, ReadyTool>;
}

function isPlainObject(value: unknown): value is Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A plain JSON copy of a schema-like field, so a later change by the caller changes nothing here. */
function jsonCopy(field: string, value: unknown): Json {
  if (!isPlainObject(value)) throw new ConfigError(field, 'must be a plain object (a JSON Schema)');
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new ConfigError(field, `is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return JSON.parse(text) as Json;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function checkTimeout(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMEOUT_MS) {
    throw new ConfigError(field, `must be a number of milliseconds above 0 and at most ${MAX_TIMEOUT_MS}; got ${String(value)}`);
  }
  return value;
}

function checkInputSchema(field: string, given: unknown): Json {
  const schema = given === undefined ? { type: 'object', properties: {} } : jsonCopy(field, given);
  if (schema.type !== 'object') {
    throw new ConfigError(field, 'its root must be { type: "object", ... }: the guest passes arguments by keyword');
  }
  const properties = schema.properties ?? {};
  if (!isPlainObject(properties)) throw new ConfigError(`${field}.properties`, 'must be an object');
  for (const name of Object.keys(properties)) {
    if (!IDENTIFIER.test(name) || PYTHON_KEYWORDS.has(name)) {
      throw new ConfigError(
        `${field}.properties`,
        `${JSON.stringify(name)} is not a Python identifier, or is a keyword; the guest passes it as a keyword argument (rename it)`,
      );
    }
  }
  if (Array.isArray(schema.required)) {
    for (const name of schema.required) {
      if (typeof name !== 'string' || !(name in properties)) {
        throw new ConfigError(`${field}.required`, `names ${JSON.stringify(name)}, which is not in properties`);
      }
    }
  }
  return schema;
}

function checkTool(tool: unknown, i: number, defaultTimeoutMs: number, seen: Set<string>): ReadyTool {
  const at = `tools[${i}]`;
  if (tool === null || typeof tool !== 'object') throw new ConfigError(at, 'must be an object { name, description, inputSchema, handler }');
  const t = tool as Partial<PythonTool> & Json;
  const { name } = t;
  if (typeof name !== 'string' || !NAME.test(name) || PYTHON_KEYWORDS.has(name)) {
    throw new ConfigError(`${at}.name`, `must be a letter, then up to 63 letters, digits or underscores, and not a Python keyword; got ${JSON.stringify(name)}`);
  }
  if (seen.has(name)) throw new ConfigError(`${at}.name`, `two tools are named ${name}`);
  seen.add(name);
  if (typeof t.handler !== 'function') throw new ConfigError(`${at}.handler`, 'must be a function (args, context) => result');
  if (t.description !== undefined && typeof t.description !== 'string') throw new ConfigError(`${at}.description`, 'must be a string');
  if (t.inputSchema === undefined) {
    const other = OTHER_SCHEMA_FIELDS.find((f) => t[f] !== undefined);
    if (other !== undefined) throw new ConfigError(`${at}.${other}`, 'name the input schema inputSchema (MCP\'s field name)');
  }
  const inputSchema = checkInputSchema(`${at}.inputSchema`, t.inputSchema);
  let schema: CompiledSchema;
  try {
    schema = compileSchema(inputSchema);
  } catch (e) {
    throw new ConfigError(`${at}.inputSchema`, `does not compile: ${e instanceof Error ? e.message : String(e)}`);
  }
  const descriptor: Json = { name, description: t.description ?? '', inputSchema };
  if (t.outputSchema !== undefined) descriptor.outputSchema = jsonCopy(`${at}.outputSchema`, t.outputSchema);
  if (t.annotations !== undefined) descriptor.annotations = jsonCopy(`${at}.annotations`, t.annotations);
  const timeoutMs = t.timeoutMs === undefined ? defaultTimeoutMs : checkTimeout(`${at}.timeoutMs`, t.timeoutMs);
  return { name, handler: t.handler, timeoutMs, schema, descriptor: deepFreeze(descriptor) };
}

/** Everything a ToolHost is made with, checked; throws ConfigError naming the first bad field. */
export function checkConfig(tools: unknown, options: unknown): ReadyOptions {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new ConfigError('options', 'must be an object { gate, maxCallsPerTurn, toolTimeoutMs }');
  }
  const o = (options ?? {}) as ToolHostOptions;
  if (o.gate !== undefined && typeof o.gate !== 'function') throw new ConfigError('gate', 'must be a function (call) => boolean');
  const max = o.maxCallsPerTurn ?? DEFAULT_MAX_CALLS_PER_TURN;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 0) {
    throw new ConfigError('maxCallsPerTurn', `must be an integer from 0; got ${String(max)}`);
  }
  const timeout = o.toolTimeoutMs === undefined ? DEFAULT_TOOL_TIMEOUT_MS : checkTimeout('toolTimeoutMs', o.toolTimeoutMs);
  if (!Array.isArray(tools)) throw new ConfigError('tools', 'must be an array of { name, description, inputSchema, handler }');
  const seen = new Set<string>();
  const ready = new Map<string, ReadyTool>();
  tools.forEach((tool, i) => {
    const t = checkTool(tool, i, timeout, seen);
    ready.set(t.name, t);
  });
  return { gate: o.gate ?? null, maxCallsPerTurn: max, tools: ready };
}
