// Tool protocol 1's host: frames that break the protocol's rules answer `protocol` (or `too_large`),
// cheaply, and nothing a guest sends throws out of ToolHost.answer. Fake frames, no interpreter.
import { describe, expect, test } from 'vitest';
import { ToolHost } from '../../dist/esm/python/tools/index.js';
import { call, host, lookupTool, send, type Answer } from './tool-frames.js';

describe('frames that break the protocol', () => {
  const h = host([lookupTool()]);

  test.each([
    ['not JSON', '{"v":1,', /^the frame is not JSON \(/],
    ['not an object', '[1,2]', /^the frame is not a JSON object$/],
    ['a wrong version', '{"v":2,"id":1,"op":"list"}', /^this host serves protocol version 1; the frame asks for 2$/],
    ['no version', '{"id":1,"op":"list"}', /asks for none$/],
    ['an unknown op', '{"v":1,"id":1,"op":"batch"}', /^unknown operation 'batch'; this host serves list and call$/],
    ['a tool that is not a string', '{"v":1,"id":1,"op":"call","tool":3}', /^a call names its tool with a string$/],
    ['a lone surrogate', '{"v":1,"id":1,"op":"call","tool":"lookup","args":{"code":"\\ud800"}}', /lone surrogate/],
    ['a number out of range', '{"v":1,"id":1,"op":"call","tool":"lookup","args":{"code":"x","year":1e400}}', /out of range/],
    ['an integer past 2^53', '{"v":1,"id":1,"op":"call","tool":"lookup","args":{"code":"x","year":9007199254740993}}', /beyond 2\^53 - 1/],
    ['a 65-character number', `{"v":1,"id":1,"op":"list","n":${'1'.repeat(65)}}`, /a number of 65 characters; at most 64/],
    ['a "__proto__" key', '{"v":1,"id":1,"op":"call","tool":"lookup","args":{"code":"x","__proto__":{"admin":true}}}', /"__proto__" is refused/],
    ['nesting of 65 levels', `{"v":1,"id":1,"op":"list","n":${'['.repeat(64)}${']'.repeat(64)}}`, /nests deeper than 64 levels/],
  ])('%s answers protocol', async (_name, raw, message) => {
    const a = await send(h, raw);
    expect(a.ok).toBe(false);
    expect(a.error?.kind).toBe('protocol');
    expect(a.error?.message).toMatch(message);
  });

  test('brackets and quotes inside strings do not count as nesting; 64 levels are allowed', async () => {
    const inString = `{"v":1,"id":1,"op":"call","tool":"lookup","args":{"code":"${'[{\\"'.repeat(100)}"}}`;
    expect((await send(h, inString)).ok).toBe(true);
    expect((await send(h, `{"v":1,"id":2,"op":"list","n":${'['.repeat(63)}${']'.repeat(63)}}`)).ok).toBe(true);
  });

  test('not UTF-8 answers protocol', async () => {
    const a = await send(h, Buffer.from([0x7b, 0xff, 0x7d]));
    expect(a.error).toEqual({ kind: 'protocol', message: 'the frame is not UTF-8' });
  });

  test('an id outside 0..2^53-1, or not an integer, answers with id null', async () => {
    expect((await send(h, '{"v":1,"id":-1,"op":"list"}')).id).toBeNull();
    expect((await send(h, '{"v":1,"id":1.5,"op":"list"}')).id).toBeNull();
    expect((await send(h, '{"v":1,"id":"7","op":"list"}')).id).toBeNull();
    expect((await send(h, '{"v":1,"id":9007199254740991,"op":"list"}')).id).toBe(9007199254740991);
  });

  test('a 1 MiB frame of nesting is refused by a linear scan, before JSON.parse', async () => {
    const deep = Buffer.alloc(1 << 20, '[');
    const started = performance.now();
    const a = await send(h, deep);
    // Generous bound for a loaded machine: the scan stops at level 65; a parser that recursed
    // would overflow its stack or take far longer.
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(a.error).toEqual({ kind: 'protocol', message: 'the frame nests deeper than 64 levels' });
  });

  test('answer never throws: a non-Buffer answers protocol, a throwing getter answers tool_error', async () => {
    const bad = new ToolHost([{ name: 'trap', handler: () => ({ get x(): never { throw new Error('getter'); } }) }]);
    const a = JSON.parse((await bad.answer(null as unknown as Buffer)).toString()) as Answer;
    expect(a.error?.kind).toBe('protocol');
    const b = await call(bad, 'trap', {});
    expect(b.error).toEqual({ kind: 'tool_error', message: 'trap failed: its result could not be read' });
  });
});
