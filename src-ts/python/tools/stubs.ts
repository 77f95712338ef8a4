// Python stubs of the tools for a model's prompt: each tool as the `def` the guest's
// `from host import tools` gives it (signature and docstring), read from its descriptor.
import { checkConfig } from './config.js';
import type { PythonTool } from './types.js';

type Json = Record<string, unknown>;

const TYPE_TEXT: Record<string, string> = {
  string: 'str',
  integer: 'int',
  number: 'float',
  boolean: 'bool',
  null: 'None',
  array: 'list',
  object: 'dict',
};

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A JSON value as Python's repr writes it. */
function pyRepr(value: unknown): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    let out = '';
    for (const ch of value) {
      const code = ch.codePointAt(0)!;
      if (ch === '\\' || ch === quote) out += `\\${ch}`;
      else if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
      else out += ch;
    }
    return quote + out + quote;
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (isObject(value)) {
    if (Object.keys(value).length === 1 && typeof value.$bytes === 'string') {
      return `b'${[...Buffer.from(value.$bytes, 'base64')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}'`;
    }
    return `{${Object.entries(value).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  }
  return 'None';
}

const scalar = (v: unknown): boolean => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** The type hint a schema reads as; `Any` for what it cannot say. */
function hint(s: unknown, depth = 0): string {
  if (!isObject(s) || depth > 8) return 'Any';
  if (Array.isArray(s.enum) && s.enum.length > 0 && s.enum.every(scalar)) return `Literal[${s.enum.map(pyRepr).join(', ')}]`;
  if ('const' in s && scalar(s.const)) return `Literal[${pyRepr(s.const)}]`;
  for (const key of ['anyOf', 'oneOf']) {
    const branches = s[key];
    if (Array.isArray(branches) && branches.length > 0) return [...new Set(branches.map((b) => hint(b, depth + 1)))].join(' | ');
  }
  const t = s.type;
  if (Array.isArray(t) && t.length > 0) return [...new Set(t.map((one) => hint({ ...s, type: one }, depth + 1)))].join(' | ');
  if (t === 'string' && s.contentEncoding === 'base64') return 'bytes';
  if (t === 'array' && isObject(s.items)) return `list[${hint(s.items, depth + 1)}]`;
  if (t === 'object' && isObject(s.additionalProperties) && !(isObject(s.properties) && Object.keys(s.properties).length)) {
    return `dict[str, ${hint(s.additionalProperties, depth + 1)}]`;
  }
  return typeof t === 'string' && t in TYPE_TEXT ? TYPE_TEXT[t]! : 'Any';
}

function stub(d: Json): string {
  const schema = isObject(d.inputSchema) ? d.inputSchema : {};
  const props = isObject(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const names = Object.keys(props);
  const ordered = [...names.filter((n) => required.has(n)), ...names.filter((n) => !required.has(n))];
  const params = ordered.map((n) => {
    const p = props[n];
    const base = `${n}: ${hint(p)}`;
    if (required.has(n)) return base;
    return isObject(p) && 'default' in p ? `${base} = ${pyRepr(p.default)}` : `${base} = ...`;
  });
  const returns = 'outputSchema' in d ? ` -> ${hint(d.outputSchema)}` : '';
  let doc = typeof d.description === 'string' ? d.description.trim() : '';
  if (names.length > 0) {
    const lines = names.map((n) => {
      const said = isObject(props[n]) ? props[n].description : undefined;
      return typeof said === 'string' && said ? `    ${n}: ${said}` : `    ${n}`;
    });
    doc = `${doc ? `${doc}\n\n` : ''}Args:\n${lines.join('\n')}`;
  }
  const docLines = doc.replace(/\\/g, '\\\\').replace(/"""/g, '\\"\\"\\"').split('\n');
  const body = [`    """${docLines[0]}`, ...docLines.slice(1).map((l) => (l ? `    ${l}` : ''))];
  if (docLines.length > 1) body.push('    """');
  else body[0] += '"""';
  return [`def ${String(d.name)}(${params.join(', ')})${returns}:`, ...body, ''].join('\n');
}

/**
 * Python stubs for a prompt: `from host import tools`, then each tool as a `def` with its signature
 * and docstring. Throws ConfigError for tools a ToolHost would refuse.
 */
export function toolStubs(tools: PythonTool[]): string {
  const ready = checkConfig(tools, undefined);
  return ['from host import tools', '', ...[...ready.tools.values()].map((t) => stub(t.descriptor))].join('\n');
}
