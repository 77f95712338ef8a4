// The host side of tool protocol 1 (src-ts/python/tools), driven with fake frames: no interpreter.
// Every error kind and every cap has a test that fails if it breaks; schemas, the constructor's
// refusals and stubs are in tool-schema.test.ts, frames that break the protocol in
// tool-protocol.test.ts.
import { describe, expect, test } from 'vitest';
import { ToolDenied, type ToolContext } from '../../dist/esm/python/tools/index.js';
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

  test('a result may nest 63 levels (its answer frame 64, the guest\'s cap); 64 answers tool_error', async () => {
    const nest = (n: number): unknown => (n === 0 ? 1 : [nest(n - 1)]);
    const h = host([{ name: 'n63', handler: () => nest(63) }, { name: 'n64', handler: () => nest(64) }]);
    expect((await call(h, 'n63', {})).value).toEqual(nest(63));
    expect((await call(h, 'n64', {})).error).toEqual({ kind: 'tool_error', message: 'n64: the result cannot be sent as JSON: the value nests deeper than 63 levels' });
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
