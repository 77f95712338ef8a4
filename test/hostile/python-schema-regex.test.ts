// Issue 21, item 8: a tool's input schema must not let a guest's arguments block the event loop.
// The attack: `pattern` was refused where it sat as a keyword, but a `$ref` (a JSON pointer)
// could send Ajv into `examples`, `default` or `const`, where the refusal never looked; there
// `^(a+)+$` ran on V8's backtracking engine, and 27 characters blocked the loop for a second,
// doubling with each one more. Now every pattern Ajv compiles runs on RE2's linear-time engine,
// and no `$ref` reaches an object Ajv would compile unrewritten. Fake frames, no interpreter.
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../dist/esm/shared/errors.js';
import { ToolHost, type PythonTool } from '../../dist/esm/python/tools/index.js';
import { call } from '../python/tool-frames.js';

const EVIL = '^(a+)+$';
const ok = (): unknown => 'ran';

/** A host whose tool `t` takes `{ s }` checked against `s`; or the ConfigError its constructor threw. */
function hostFor(inputSchema: Record<string, unknown>): ToolHost | ConfigError {
  try {
    return new ToolHost([{ name: 't', inputSchema, handler: ok } as PythonTool]);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
}

/** The median time of a few checks of these arguments, in ms (the answer each time is the same). */
async function checkTime(h: ToolHost, args: Record<string, unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await call(h, 't', args);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[2]!;
}

/**
 * How much longer a check of size `large` takes than one of size `small`, the arguments made by
 * `args`. Both run in this process, one after the other, so the ratio holds on a loaded machine
 * where a bound in ms would not.
 */
async function growth(h: ToolHost, args: (n: number) => Record<string, unknown>, small: number, large: number): Promise<number> {
  await checkTime(h, args(1)); // warm up: Ajv's first call, re2js's first match
  const short = await checkTime(h, args(small));
  const long = await checkTime(h, args(large));
  return long / Math.max(short, 0.05);
}

/**
 * The attack string, 18 then 26 characters: a backtracking engine doubles its time per
 * character (2^8 = 256 times longer); a linear one stays near 1.
 */
const attack = (h: ToolHost): Promise<number> => growth(h, (n) => ({ s: `${'a'.repeat(n)}!` }), 18, 26);

describe('a pattern reached through $ref where the refusal never looked', () => {
  // Each is the attack as reported: the pattern sits in an annotation or a value, and a $ref
  // points there. Refused at construction, or checked in linear time: never exponential.
  test.each<[string, Record<string, unknown>]>([
    ['examples', { type: 'object', properties: { s: { $ref: '#/examples/0' } }, examples: [{ type: 'string', pattern: EVIL }] }],
    ['default', { type: 'object', properties: { s: { $ref: '#/default' } }, default: { type: 'string', pattern: EVIL } }],
    ['const', { type: 'object', properties: { s: { $ref: '#/$defs/k/const' } }, $defs: { k: { const: { type: 'string', pattern: EVIL } } } }],
    ['enum', { type: 'object', properties: { s: { $ref: '#/$defs/k/enum/0' } }, $defs: { k: { enum: [{ type: 'string', pattern: EVIL }] } } }],
  ])('through %s', async (_where, schema) => {
    const h = hostFor(schema);
    if (h instanceof ConfigError) {
      expect(h.field).toBe('tools[0].inputSchema');
      return;
    }
    expect(await attack(h)).toBeLessThan(16);
  });
});

describe('pattern and patternProperties run on a linear-time engine', () => {
  test('a pattern a backtracking engine takes exponential time on is checked in linear time', async () => {
    const h = hostFor({ type: 'object', properties: { s: { type: 'string', pattern: EVIL } } });
    expect(h).toBeInstanceOf(ToolHost);
    const host = h as ToolHost;
    expect(await attack(host)).toBeLessThan(16);
    expect((await call(host, 't', { s: 'aaaa' })).value).toBe('ran');
    expect((await call(host, 't', { s: `${'a'.repeat(40)}!` })).error).toEqual({ kind: 'invalid_arguments', message: `t: /s must match pattern "${EVIL}"` });
  });

  test('patternProperties: keys are matched linearly too', async () => {
    const h = hostFor({ type: 'object', properties: { o: { type: 'object', patternProperties: { [EVIL]: { type: 'integer' } }, additionalProperties: false } } });
    expect(h).toBeInstanceOf(ToolHost);
    const host = h as ToolHost;
    expect(await growth(host, (n) => ({ o: { [`${'a'.repeat(n)}!`]: 1 } }), 18, 26)).toBeLessThan(16);
    expect((await call(host, 't', { o: { 'aaa!': 1 } })).error?.kind).toBe('invalid_arguments');
    expect((await call(host, 't', { o: { aaa: 1 } })).value).toBe('ran');
  });

  test('ECMAScript spellings still work: named groups, \\u{...}, \\d, \\p{L}', async () => {
    const h = hostFor({ type: 'object', properties: { s: { type: 'string', pattern: '^(?<year>\\d{4})-\\p{L}+\\u{1F600}$' } } }) as ToolHost;
    expect((await call(h, 't', { s: '2026-été😀' })).value).toBe('ran');
    expect((await call(h, 't', { s: '26-été😀' })).error?.kind).toBe('invalid_arguments');
  });

  test.each([['a lookahead', '(?=a)a'], ['a backreference', '(a)\\1']])('%s (no linear-time match exists) is refused at construction', (_name, pattern) => {
    const h = hostFor({ type: 'object', properties: { s: { type: 'string', pattern } } });
    expect(h).toBeInstanceOf(ConfigError);
    expect((h as ConfigError).field).toBe('tools[0].inputSchema');
    expect((h as ConfigError).message).toMatch(/linear-time engine/);
  });
});

describe('no $ref reaches an object Ajv would compile unrewritten', () => {
  test.each<[string, Record<string, unknown>]>([
    ['a map of schemas', { type: 'object', properties: { xs: { $ref: '#/$defs/holder/properties' } }, $defs: { holder: { type: 'object', properties: { uniqueItems: true } } } }],
    ['$vocabulary', { type: 'object', properties: { xs: { $ref: '#/$vocabulary' } }, $vocabulary: { uniqueItems: true } }],
  ])('%s named as a schema cannot smuggle uniqueItems past the hash check', async (_where, schema) => {
    // `{"uniqueItems": true}` is a property map or a vocabulary here, but as a schema it asks
    // Ajv's pairwise (quadratic) check: 20,000 items took ~5 s. The map's entry is now the
    // schema `{}`, not a keyword; `$vocabulary` is not given to Ajv.
    const h = hostFor(schema);
    if (h instanceof ConfigError) return;
    // Pairwise: 32 times the items, 1,024 times the work; by hash, about 32.
    const items = (n: number): Record<string, unknown> => ({ xs: Array.from({ length: n }, (_, i) => [i]) });
    expect(await growth(h, items, 250, 8_000)).toBeLessThan(100);
  });

  test('const and enum keep their meaning', async () => {
    const h = hostFor({ type: 'object', properties: { c: { const: { a: [1, 2] } }, e: { enum: ['x', { b: null }] } } }) as ToolHost;
    expect((await call(h, 't', { c: { a: [1, 2] }, e: { b: null } })).value).toBe('ran');
    expect((await call(h, 't', { c: { a: [2, 1] } })).error?.message).toBe('t: /c must be equal to constant');
    expect((await call(h, 't', { e: 'y' })).error?.message).toBe('t: /e must be equal to one of the allowed values');
  });
});

test('a check that spent its whole budget leaves nothing for the next schema compiled', async () => {
  // Ajv matches the meta-schema's patterns (one for `$id`) when it checks a new schema: that
  // must not be charged to, or fail on, the budget the last check used up.
  const branch = { type: 'array', items: { $ref: '#/$defs/n' } };
  const h = hostFor({ type: 'object', properties: { s: { $ref: '#/$defs/n' } }, $defs: { n: { oneOf: [branch, branch] } } }) as ToolHost;
  let n: unknown[] = [];
  for (let i = 0; i < 60; i++) n = [n];
  expect((await call(h, 't', { s: n })).error?.message).toBe('t: the arguments are too complex to check');
  expect(hostFor({ type: 'object', properties: { a: { $id: 'urn:mimobox:a', type: 'string', pattern: '^x' } } })).toBeInstanceOf(ToolHost);
});
