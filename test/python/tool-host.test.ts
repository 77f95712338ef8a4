// The host side of tool protocol 1 (src-ts/python/tools), driven with fake frames: no interpreter.
// Every error kind and every cap has a test that fails if it breaks; schemas, the constructor's
// refusals and stubs are in tool-schema.test.ts.
import { describe, expect, test } from 'vitest';
import { ToolDenied, ToolHost, type ToolContext } from '../../dist/esm/python/tools/index.js';
import { call, frame, host, lookupTool, LOOKUP_SCHEMA, send, sleep, type Answer } from './tool-frames.js';

describe('list and call', () => {
  test('a list answers the descriptors in MCP field names, with the frame id', async () => {
    const h = host([lookupTool(), { name: 'ping', handler: () => 'pong' }]);
    const a = await send(h, frame({ v: 1, id: 7, op: 'list' }));
    expect(a).toEqual({
      v: 1,
      id: 7,
      ok: true,
      tools: [
        {
          name: 'lookup',
          description: 'Look up a sales region by its code.',
          inputSchema: LOOKUP_SCHEMA,
          outputSchema: { type: 'object' },
          annotations: { readOnlyHint: true },
        },
        { name: 'ping', description: '', inputSchema: { type: 'object', properties: {} } },
      ],
    });
    expect(h.descriptors).toEqual(a.tools);
    expect(Object.isFrozen(h.descriptors[0])).toBe(true);
    const record = h.endTurn();
    expect(record.frames).toBe(1);
    expect(record.calls[0]).toMatchObject({ seq: 1, op: 'list', tool: null, outcome: 'ok' });
  });

  test('a valid call runs the handler with its arguments and answers its value', async () => {
    const seen: unknown[] = [];
    const h = host([lookupTool(seen)]);
    const request = frame({ v: 1, id: 42, op: 'call', tool: 'lookup', args: { code: 'EMEA', year: 2025 } });
    const answer = await h.answer(request);
    expect(JSON.parse(answer.toString())).toEqual({ v: 1, id: 42, ok: true, value: { region: 'EMEA', year: 2025 } });
    expect(seen).toEqual([{ args: { code: 'EMEA', year: 2025 }, seq: 1 }]);
    const record = h.endTurn();
    expect(record).toMatchObject({ frames: 1, calls: [{ seq: 1, op: 'call', tool: 'lookup', outcome: 'ok' }] });
    expect(record.calls[0]!.requestBytes).toBe(request.length);
    expect(record.calls[0]!.answerBytes).toBe(answer.length);
    expect(record.calls[0]!.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(record.calls[0]!.message).toBeUndefined();
  });

  test('an async handler is awaited; absent args are {}; undefined answers null', async () => {
    const h = host([
      { name: 'later', handler: async () => { await sleep(5); return [1, 'two', null, true]; } },
      { name: 'nothing', handler: (args) => { expect(args).toEqual({}); return undefined; } },
    ]);
    expect((await call(h, 'later', {})).value).toEqual([1, 'two', null, true]);
    expect(await call(h, 'nothing')).toMatchObject({ ok: true, value: null });
  });
});

describe('refusals before the handler', () => {
  test('arguments that break the schema answer invalid_arguments naming the tool and the fault', async () => {
    const seen: unknown[] = [];
    const h = host([lookupTool(seen)]);
    expect((await call(h, 'lookup', { code: 'EMEA', year: 'soon' })).error).toEqual({
      kind: 'invalid_arguments',
      message: 'lookup: /year must be integer',
    });
    expect((await call(h, 'lookup', {})).error?.message).toBe("lookup: must have required property 'code'");
    expect((await call(h, 'lookup', { code: 'x', colour: 1 })).error?.message).toBe(
      "lookup: must NOT have additional properties ('colour')",
    );
    expect((await call(h, 'lookup', [1])).error?.message).toBe('lookup: the arguments must be an object');
    expect(seen).toEqual([]);
    const record = h.endTurn();
    expect(record.calls.map((c) => c.outcome)).toEqual(Array(4).fill('invalid_arguments'));
    expect(record.calls[0]!.message).toBe('lookup: /year must be integer');
  });

  test('an unknown tool answers unknown_tool, naming the tools offered', async () => {
    const h = host([lookupTool()]);
    const a = await call(h, 'lokup', {});
    expect(a.error).toEqual({ kind: 'unknown_tool', message: "no tool named 'lokup'; this host offers: lookup" });
    expect(h.endTurn().calls[0]).toMatchObject({ op: 'call', tool: 'lokup', outcome: 'unknown_tool' });
  });

  test('a gate that answers false, or anything but true, denies the call; the handler never runs', async () => {
    const seen: unknown[] = [];
    let verdict: unknown = false;
    const gated: unknown[] = [];
    const h = host([lookupTool(seen)], {
      gate: (c) => {
        gated.push(c);
        return verdict as boolean;
      },
    });
    expect((await call(h, 'lookup', { code: 'EMEA' })).error).toEqual({ kind: 'denied', message: 'lookup was refused' });
    verdict = 1; // truthy is not true: fails closed
    expect((await call(h, 'lookup', { code: 'EMEA' })).error?.kind).toBe('denied');
    verdict = Promise.resolve(true);
    expect((await call(h, 'lookup', { code: 'EMEA' })).ok).toBe(true);
    expect(seen).toHaveLength(1);
    expect(gated[0]).toEqual({ seq: 1, tool: 'lookup', args: { code: 'EMEA' } });
    const record = h.endTurn();
    expect(record.calls.map((c) => c.outcome)).toEqual(['denied', 'denied', 'ok']);
    expect(record.calls[1]!.fault).toBe('TypeError: the gate returned number, not a boolean');
  });

  test('a gate that throws denies the call without its message; ToolDenied says why', async () => {
    const seen: unknown[] = [];
    let error: unknown = new TypeError('secret internals at /srv/app');
    const h = host([lookupTool(seen)], {
      gate: async () => {
        throw error;
      },
    });
    expect((await call(h, 'lookup', { code: 'EMEA' })).error).toEqual({ kind: 'denied', message: 'lookup was refused' });
    error = new ToolDenied('lookups are closed on Sundays');
    expect((await call(h, 'lookup', { code: 'EMEA' })).error).toEqual({ kind: 'denied', message: 'lookups are closed on Sundays' });
    expect(seen).toEqual([]);
    expect(h.endTurn().calls[0]!.fault).toBe('TypeError: secret internals at /srv/app');
  });

  test('a gate sees validated, decoded arguments of its own: changing them changes nothing', async () => {
    let got: unknown;
    const h = host(
      [{
        name: 'put',
        inputSchema: { type: 'object', properties: { data: { type: 'string', contentEncoding: 'base64' }, tags: { type: 'array' } } },
        handler: (args) => { got = args; return true; },
      }],
      {
        gate: (c) => {
          expect(Buffer.isBuffer(c.args.data)).toBe(true);
          (c.args.data as Buffer)[0] = 9;
          (c.args.tags as unknown[]).push('injected');
          return true;
        },
      },
    );
    expect((await call(h, 'put', { data: { $bytes: 'AQI=' }, tags: ['a'] })).ok).toBe(true);
    expect(got).toEqual({ data: Buffer.from([1, 2]), tags: ['a'] });
  });
});

describe('handler failures', () => {
  test('a throwing or rejecting handler answers tool_error with its message, never its stack', async () => {
    const h = host([
      { name: 'boom', handler: () => { throw new RangeError('the shelf is empty\nsecond line'); } },
      { name: 'reject', handler: async () => { throw new Error('no such row'); } },
      { name: 'long', handler: () => { throw new Error('x'.repeat(10_000)); } },
      { name: 'odd', handler: () => { throw 42; } },
      { name: 'deny', handler: () => { throw new ToolDenied('not yours'); } },
      { name: 'hostile', handler: () => { const e = new Error('x'); Object.defineProperty(e, 'name', { value: Symbol('s') }); Object.defineProperty(e, 'message', { get() { throw new Error('no'); } }); throw e; } },
    ]);
    const boom = await call(h, 'boom', {});
    expect(boom.error).toEqual({ kind: 'tool_error', message: 'the shelf is empty\nsecond line' });
    expect(JSON.stringify(boom)).not.toMatch(/at .*\.(js|ts):\d+/);
    expect((await call(h, 'reject', {})).error).toEqual({ kind: 'tool_error', message: 'no such row' });
    expect((await call(h, 'long', {})).error?.message).toHaveLength(4096);
    expect((await call(h, 'odd', {})).error).toEqual({ kind: 'tool_error', message: 'odd failed' });
    expect((await call(h, 'deny', {})).error).toEqual({ kind: 'denied', message: 'not yours' });
    expect((await call(h, 'hostile', {})).error).toEqual({ kind: 'tool_error', message: 'hostile failed' });
    const record = h.endTurn();
    expect(record.calls[5]!.fault).toBe('Error');
    expect(record.calls[0]!.fault).toBe('RangeError: the shelf is empty');
    expect(record.calls[2]!.fault).toHaveLength(200);
    expect(record.calls[3]!.fault).toBe('number: 42');
  });

  test('a result JSON cannot carry answers tool_error saying so', async () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const results: Record<string, unknown> = {
      fn: { f: () => 1 },
      big: 10n,
      cyc: cycle,
      nan: [NaN],
      inf: Infinity,
      map: new Map([[1, 2]]),
      fake: { $bytes: 'AA==' },
    };
    const h = host(Object.entries(results).map(([name, value]) => ({ name, handler: () => value })));
    const expected: Record<string, string> = {
      fn: 'a function has no JSON form',
      big: 'a bigint has no JSON form',
      cyc: 'the value holds a cycle',
      nan: 'NaN is not a finite number',
      inf: 'Infinity is not a finite number',
      map: 'a Map has no JSON form',
      fake: 'would read as bytes',
    };
    for (const [name, text] of Object.entries(expected)) {
      const a = await call(h, name, {});
      expect(a.error?.kind).toBe('tool_error');
      expect(a.error?.message).toContain(`${name}: the result cannot be sent as JSON`);
      expect(a.error?.message).toContain(text);
    }
  });

  test('a message is cut at 4096 characters, never inside a surrogate pair', async () => {
    const h = host([{ name: 'emoji', handler: () => { throw new Error(`${'x'.repeat(4095)}😀`); } }]);
    const raw = await h.answer(frame({ v: 1, id: 1, op: 'call', tool: 'emoji', args: {} }));
    expect(raw.toString()).not.toMatch(/\\ud83d/);
    expect((JSON.parse(raw.toString()) as Answer).error?.message).toBe('x'.repeat(4095));
  });

  test('a tool list over 16 MiB answers too_large; calls still work', async () => {
    const h = host([{ name: 'wordy', description: 'x'.repeat(17 << 20), handler: () => 'ok' }]);
    expect((await send(h, frame({ v: 1, id: 1, op: 'list' }))).error).toEqual({ kind: 'too_large', message: 'the tool list is over the 16 MiB answer cap' });
    expect((await call(h, 'wordy', {})).value).toBe('ok');
  });

  test('a result over 16 MiB once encoded answers too_large', async () => {
    const h = host([
      { name: 'huge', handler: () => 'x'.repeat(17 << 20) },
      { name: 'escaped', handler: () => '\u0001'.repeat(3 << 20) }, // 3 MiB of text, 18 MiB escaped
    ]);
    const a = await call(h, 'huge', {});
    expect(a.error?.kind).toBe('too_large');
    const b = await call(h, 'escaped', {});
    expect(b.error).toMatchObject({ kind: 'too_large' });
    expect(b.error?.message).toMatch(/^the result of escaped is \d+ bytes encoded, over the 16777216-byte \(16 MiB\) cap$/);
  });

  test('a slow handler answers timeout, its signal aborts, and its late result is dropped', async () => {
    let signal: AbortSignal | undefined;
    let finished = false;
    const h = host(
      [
        {
          name: 'slow',
          timeoutMs: 50,
          handler: async (_args, context: ToolContext) => {
            signal = context.signal;
            await sleep(300);
            finished = true;
            throw new Error('late failure: must not surface as an unhandled rejection');
          },
        },
        { name: 'never', handler: () => new Promise(() => {}) },
      ],
      { toolTimeoutMs: 80 },
    );
    const a = await call(h, 'slow', {});
    expect(a.error).toEqual({ kind: 'timeout', message: 'slow timed out after 50 ms' });
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as Error).name).toBe('TimeoutError');
    expect(finished).toBe(false); // answered before the handler's own end
    expect((await call(h, 'never', {})).error).toEqual({ kind: 'timeout', message: 'never timed out after 80 ms' });
    await sleep(350); // the late rejection happens here; vitest fails the run if it is unhandled
    expect(finished).toBe(true);
    expect(h.endTurn().calls.map((c) => c.outcome)).toEqual(['timeout', 'timeout']);
  });

  test('a gate past the timeout answers timeout and the handler never starts', async () => {
    let ran = false;
    const h = host([{ name: 't', timeoutMs: 30, handler: () => { ran = true; } }], { gate: () => sleep(200).then(() => true) });
    expect((await call(h, 't', {})).error?.kind).toBe('timeout');
    await sleep(250);
    expect(ran).toBe(false);
  });
});

describe('turns and caps', () => {
  test('1,000 calls with the default cap: 100 answered, 900 budget_exceeded, all counted', async () => {
    let runs = 0;
    const h = host([{ name: 'inc', handler: () => ++runs }]);
    const outcomes: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const a = await call(h, 'inc', {});
      outcomes.push(a.ok ? 'ok' : a.error!.kind);
    }
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(100);
    expect(outcomes.slice(100).every((o) => o === 'budget_exceeded')).toBe(true);
    expect(runs).toBe(100);
    const over = await call(h, 'inc', {});
    expect(over).toMatchObject({ id: null, error: { kind: 'budget_exceeded', message: 'this turn allows 100 tool frames; this was frame 1001' } });
    const record = h.endTurn();
    expect(record.frames).toBe(1001);
    expect(record.calls).toHaveLength(1000); // the first 1,000 listed
    expect(record.calls[999]!.seq).toBe(1000);
    expect(record.calls[100]).toMatchObject({ op: null, tool: null, outcome: 'budget_exceeded' });
  });

  test('maxCallsPerTurn counts every frame, lists included; beginTurn starts the count again', async () => {
    const h = host([{ name: 'ping', handler: () => 'pong' }], { maxCallsPerTurn: 2 });
    expect((await send(h, frame({ v: 1, id: 1, op: 'list' }))).ok).toBe(true);
    expect((await call(h, 'ping', {})).ok).toBe(true);
    expect((await call(h, 'ping', {})).error?.kind).toBe('budget_exceeded');
    h.beginTurn();
    expect((await call(h, 'ping', {})).ok).toBe(true);
    const record = h.endTurn();
    expect(record.frames).toBe(1);
    expect(record.calls).toHaveLength(1);
    expect(record.calls[0]!.seq).toBe(1);
    const none = host([{ name: 'ping', handler: () => 'pong' }], { maxCallsPerTurn: 0 });
    expect((await call(none, 'ping', {})).error?.kind).toBe('budget_exceeded');
  });

  test('a frame over 1 MiB answers too_large unread; one of exactly 1 MiB is read', async () => {
    let runs = 0;
    const h = host([{ name: 'ping', handler: () => ++runs }]);
    const base = JSON.stringify({ v: 1, id: 5, op: 'call', tool: 'ping', args: {} });
    const exact = Buffer.from(base + ' '.repeat((1 << 20) - base.length));
    expect(exact.length).toBe(1 << 20);
    expect(await send(h, exact)).toMatchObject({ id: 5, ok: true });
    const over = Buffer.from(base + ' '.repeat((1 << 20) + 1 - base.length));
    expect(await send(h, over)).toEqual({
      v: 1,
      id: null,
      ok: false,
      error: { kind: 'too_large', message: 'the frame is 1048577 bytes; at most 1048576 (1 MiB)' },
    });
    expect(runs).toBe(1);
    expect(h.endTurn().calls[1]).toMatchObject({ op: null, outcome: 'too_large', requestBytes: (1 << 20) + 1 });
  });

  test('aborting the turn signal during a handler answers cancelled and aborts its signal', async () => {
    let signal: AbortSignal | undefined;
    const h = host([{ name: 'wait', handler: (_a, c) => { signal = c.signal; return sleep(5_000); } }]);
    const controller = new AbortController();
    h.beginTurn(controller.signal);
    const pending = call(h, 'wait', {});
    await sleep(20);
    controller.abort();
    expect((await pending).error).toEqual({ kind: 'cancelled', message: 'wait was cancelled' });
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as Error).name).toBe('AbortError');
    // Later calls in the aborted turn are cancelled before they run.
    expect((await call(h, 'wait', {})).error?.kind).toBe('cancelled');
    expect(h.endTurn().calls.map((c) => c.outcome)).toEqual(['cancelled', 'cancelled']);
  });

  test('endTurn cancels a running call and its record already lists it', async () => {
    let signal: AbortSignal | undefined;
    const h = host([{ name: 'wait', handler: (_a, c) => { signal = c.signal; return sleep(5_000); } }]);
    h.beginTurn();
    const pending = call(h, 'wait', {});
    await sleep(20);
    const record = h.endTurn();
    expect(record.calls).toEqual([expect.objectContaining({ seq: 1, tool: 'wait', outcome: 'cancelled' })]);
    expect(signal?.aborted).toBe(true);
    expect((await pending).error?.kind).toBe('cancelled');
    expect(h.endTurn()).toEqual({ frames: 0, calls: [] });
  });
});

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
