// Tool protocol 1's host: what Ajv is given (and spared) for each input schema, what the
// ToolHost constructor refuses, and the Python stubs of the tools. Fake frames, no interpreter.
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../dist/esm/shared/errors.js';
import { ToolHost, toolStubs, type PythonTool, type ToolHostOptions } from '../../dist/esm/python/tools/index.js';
import { call, host, lookupTool } from './tool-frames.js';

describe('bytes', () => {
  test('bytes cross as {"$bytes": base64} both ways, and reach the handler as a Buffer', async () => {
    let got: unknown;
    const h = host([
      {
        name: 'digest',
        inputSchema: {
          type: 'object',
          properties: {
            data: { type: 'string', contentEncoding: 'base64', maxLength: 4 },
            maybe: { type: ['string', 'null'], contentEncoding: 'base64' },
            name: { type: 'string' },
            any: {},
          },
        },
        handler: (args) => {
          got = args;
          return { same: args.data, view: new Uint8Array([255, 0, 1]) };
        },
      },
    ]);
    const a = await call(h, 'digest', { data: { $bytes: 'AAEC' }, maybe: null });
    expect(a.ok).toBe(true);
    expect(Buffer.isBuffer((got as { data: unknown }).data)).toBe(true);
    expect([...((got as { data: Buffer }).data)]).toEqual([0, 1, 2]);
    expect(a.value).toEqual({ same: { $bytes: 'AAEC' }, view: { $bytes: '/wAB' } });
    expect((await call(h, 'digest', { maybe: { $bytes: '' } })).ok).toBe(true);
    // Bytes only where the schema says bytes, and a string never where it does.
    expect((await call(h, 'digest', { data: 'AAEC' })).error).toEqual({ kind: 'invalid_arguments', message: 'digest: /data must be bytes' });
    expect((await call(h, 'digest', { maybe: 3 })).error?.message).toBe('digest: /maybe must be bytes or null');
    expect((await call(h, 'digest', { name: { $bytes: 'AA==' } })).error).toMatchObject({ kind: 'invalid_arguments' });
    expect((await call(h, 'digest', { any: [{ $bytes: 'AA==' }] })).error?.message).toMatch(/^digest: \/any\/0 holds bytes where the schema does not say/);
    expect((await call(h, 'digest', { data: { $bytes: 'AAECAwQ=' } })).error?.message).toBe('digest: /data must NOT have more than 4 bytes');
    // A malformed $bytes object breaks the frame itself.
    for (const bad of [{ $bytes: 'AAE' }, { $bytes: 'A-E=' }, { $bytes: 'AAF=' }, { $bytes: 1 }, { $bytes: 'AA==', x: 1 }]) {
      expect((await call(h, 'digest', { data: bad })).error?.kind).toBe('protocol');
    }
  });
});

describe('schemas Ajv would check too slowly', () => {
  test('uniqueItems is checked by hash: 40,000 distinct arrays pass quickly; a repeat is found', async () => {
    const h = host([{ name: 'u', inputSchema: { type: 'object', properties: { xs: { type: 'array', uniqueItems: true } } }, handler: (a) => (a.xs as unknown[]).length }]);
    const xs = Array.from({ length: 40_000 }, (_, i) => [i, { k: i }]);
    const started = performance.now();
    expect((await call(h, 'u', { xs })).value).toBe(40_000);
    // Ajv's own pairwise check takes ~20 s on this input; a hash takes well under a second.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect((await call(h, 'u', { xs: [[1, { a: 1, b: 2 }], 3, '3', [1, { b: 2, a: 1 }]] })).error?.message).toBe(
      'u: /xs must NOT have duplicate items (items 0 and 3 are identical)',
    );
  });

  test('a schema that visits 2^depth nodes meets the step budget: too complex to check', async () => {
    const branch = { type: 'array', items: { $ref: '#/$defs/n' } };
    const h = host([{
      name: 'e',
      inputSchema: { type: 'object', properties: { n: { $ref: '#/$defs/n' } }, $defs: { n: { oneOf: [branch, branch] } } },
      handler: () => 1,
    }]);
    let n: unknown[] = [];
    for (let i = 0; i < 60; i++) n = [n];
    // Without the budget this is 2^60 visits; with it, about 100 ms.
    expect((await call(h, 'e', { n })).error).toEqual({ kind: 'invalid_arguments', message: 'e: the arguments are too complex to check' });
  });

  test('the budget still lets a flat array of 50,000 checked items through', async () => {
    const h = host([{ name: 'sum', inputSchema: { type: 'object', properties: { xs: { type: 'array', items: { type: 'number' } } } }, handler: (a) => (a.xs as number[]).length }]);
    expect((await call(h, 'sum', { xs: Array.from({ length: 50_000 }, (_, i) => i) })).value).toBe(50_000);
  });

  test('a $ref loop that never descends answers too complex, not a thrown stack overflow', async () => {
    const h = host([{
      name: 'r',
      inputSchema: { type: 'object', properties: { a: { $ref: '#/$defs/x' } }, $defs: { x: { $ref: '#/$defs/y' }, y: { $ref: '#/$defs/x' } } },
      handler: () => 1,
    }]);
    expect((await call(h, 'r', { a: 1 })).error?.message).toBe('r: the arguments are too complex to check');
  });

  test('draft-07 schemas are compiled as draft-07', async () => {
    const h = host([{
      name: 'd',
      inputSchema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { p: { $ref: '#/definitions/P' }, t: { type: 'array', items: [{ type: 'string' }] } }, definitions: { P: { type: 'integer' } } },
      handler: () => 1,
    }]);
    expect((await call(h, 'd', { p: 'x' })).error?.message).toBe('d: /p must be integer');
    expect((await call(h, 'd', { t: [1] })).error?.message).toBe('d: /t/0 must be string');
  });
});

describe('the constructor refuses what would fail later', () => {
  const ok = (): unknown => 1;
  test.each<[string, unknown, ToolHostOptions | undefined, string]>([
    ['a name that starts with a digit', [{ name: '1x', handler: ok }], undefined, 'tools[0].name'],
    ['a Python keyword', [{ name: 'class', handler: ok }], undefined, 'tools[0].name'],
    ['a name of 65 characters', [{ name: `a${'b'.repeat(64)}`, handler: ok }], undefined, 'tools[0].name'],
    ['a duplicate', [{ name: 'a', handler: ok }, { name: 'a', handler: ok }], undefined, 'tools[1].name'],
    ['a handler that is not a function', [{ name: 'a', handler: 'no' }], undefined, 'tools[0].handler'],
    ['a root that is not an object', [{ name: 'a', handler: ok, inputSchema: { type: 'array' } }], undefined, 'tools[0].inputSchema'],
    ['a property that is a Python keyword', [{ name: 'a', handler: ok, inputSchema: { type: 'object', properties: { from: {} } } }], undefined, 'tools[0].inputSchema.properties'],
    ['required naming no property', [{ name: 'a', handler: ok, inputSchema: { type: 'object', required: ['x'] } }], undefined, 'tools[0].inputSchema.required'],
    ['an unknown keyword', [{ name: 'a', handler: ok, inputSchema: { type: 'object', properties: { x: { typo: 1 } } } }], undefined, 'tools[0].inputSchema'],
    ['a bad type', [{ name: 'a', handler: ok, inputSchema: { type: 'object', properties: { x: { type: 'str' } } } }], undefined, 'tools[0].inputSchema'],
    ['a pattern no linear-time engine matches (a lookahead)', [{ name: 'a', handler: ok, inputSchema: { type: 'object', properties: { x: { type: 'string', pattern: '(?=a)a' } } } }], undefined, 'tools[0].inputSchema'],
    ['a schema under another name', [{ name: 'a', handler: ok, parameters: { type: 'object' } }], undefined, 'tools[0].parameters'],
    ['a bad tool timeout', [{ name: 'a', handler: ok, timeoutMs: 0 }], undefined, 'tools[0].timeoutMs'],
    ['tools that are not an array', { name: 'a', handler: ok }, undefined, 'tools'],
    ['a negative maxCallsPerTurn', [], { maxCallsPerTurn: -1 }, 'maxCallsPerTurn'],
    ['a fractional maxCallsPerTurn', [], { maxCallsPerTurn: 1.5 }, 'maxCallsPerTurn'],
    ['a NaN toolTimeoutMs', [], { toolTimeoutMs: NaN }, 'toolTimeoutMs'],
    ['a gate that is not a function', [], { gate: true as never }, 'gate'],
  ])('%s', (_name, tools, options, field) => {
    let error: unknown;
    try {
      new ToolHost(tools as PythonTool[], options);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(field);
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
  });

  test('a host keeps its compiled checks while hundreds of other schemas are compiled', async () => {
    const first = host([lookupTool()]);
    for (let i = 0; i < 300; i++) host([{ name: 'a', inputSchema: { type: 'object', properties: { [`p${i}`]: { type: 'integer' } } }, handler: () => 1 }]);
    expect((await call(first, 'lookup', { code: 'EMEA', year: 'soon' })).error?.message).toBe('lookup: /year must be integer');
    expect((await call(host([lookupTool()]), 'lookup', { code: 1 })).error?.message).toBe('lookup: /code must be string');
  });

  test('the schema is copied: changing the caller\'s object later changes nothing', async () => {
    const schema = { type: 'object', properties: { n: { type: 'integer' } } };
    const h = host([{ name: 'a', inputSchema: schema, handler: () => 1 }]);
    schema.properties.n.type = 'string';
    expect((await call(h, 'a', { n: 1 })).ok).toBe(true);
    expect((h.descriptors[0]!.inputSchema as typeof schema).properties.n.type).toBe('integer');
  });
});

describe('toolStubs', () => {
  test('each tool as the def the guest sees: required first, defaults, hints, docstring', () => {
    const text = toolStubs([
      lookupTool(),
      {
        name: 'put',
        description: 'Store "data" under a key.',
        inputSchema: {
          type: 'object',
          properties: {
            mode: { enum: ['a', "it's"], default: 'a' },
            data: { type: 'string', contentEncoding: 'base64' },
            tags: { type: 'array', items: { type: 'string' } },
            meta: { type: 'object', additionalProperties: { type: ['integer', 'null'] } },
          },
          required: ['data'],
        },
        handler: () => 1,
      },
      { name: 'ping', handler: () => 'pong' },
    ]);
    expect(text).toBe(
      [
        'from host import tools',
        '',
        'def lookup(code: str, year: int = ...) -> dict:',
        '    """Look up a sales region by its code.',
        '',
        '    Args:',
        '        code: A region code',
        '        year',
        '    """',
        '',
        'def put(data: bytes, mode: Literal[\'a\', "it\'s"] = \'a\', tags: list[str] = ..., meta: dict[str, int | None] = ...):',
        '    """Store "data" under a key.',
        '',
        '    Args:',
        '        mode',
        '        data',
        '        tags',
        '        meta',
        '    """',
        '',
        'def ping():',
        '    """"""',
        '',
      ].join('\n'),
    );
    expect(() => toolStubs([{ name: 'def', handler: () => 1 }])).toThrow(ConfigError);
  });
});
