// A session's tool host (turnsOnly) serves frames only between beginTurn and endTurn: while the
// session opens (the prelude, startup code), between turns, and while it closes, every frame is
// refused `cancelled` before it is read, and neither gate nor handler runs. Value frames are
// bounded and counted the same way. Fake frames, no interpreter (the CPython cases are in
// test/hostile/python-close-tools.test.ts and python-value-frames.test.ts).
import { describe, expect, test } from 'vitest';
import { ToolHost, type PythonTool } from '../../dist/esm/python/tools/index.js';
import { call } from './tool-frames.js';

function sessionHost(options: { maxCallsPerTurn?: number } = {}): { h: ToolHost; ran: string[]; gated: string[] } {
  const ran: string[] = [];
  const gated: string[] = [];
  const tool: PythonTool = { name: 'echo', handler: () => (ran.push('echo'), 'ok') };
  const h = new ToolHost([tool], { ...options, gate: (c) => (gated.push(c.tool), true) }, { turnsOnly: true });
  return { h, ran, gated };
}

describe('a session host outside its turns', () => {
  test('before the first turn, between turns and after the last, a call is cancelled unread', async () => {
    const { h, ran, gated } = sessionHost();
    const before = await call(h, 'echo');
    expect(before.error).toMatchObject({ kind: 'cancelled' });
    expect(before.error?.message).toMatch(/outside a turn/);
    h.beginTurn();
    expect((await call(h, 'echo')).value).toBe('ok');
    expect(h.endTurn().frames).toBe(1);
    expect((await call(h, 'echo')).error?.kind).toBe('cancelled');
    // A frame of any size is refused before it is read.
    const huge = await h.answer(Buffer.alloc(16 << 20, 0x7b));
    expect(JSON.parse(huge.toString('utf8'))).toMatchObject({ ok: false, error: { kind: 'cancelled' } });
    expect(ran).toEqual(['echo']);
    expect(gated).toEqual(['echo']);
  });

  test('value frames: refused outside a turn; in one, the first is free and the rest are counted', () => {
    const { h } = sessionHost({ maxCallsPerTurn: 2 });
    expect(h.answerValue(Buffer.from('1'), 64).text).toBeNull();
    h.beginTurn();
    const texts = [1, 2, 3, 4].map((i) => h.answerValue(Buffer.from(String(i)), 64).text);
    expect(texts).toEqual(['1', '2', '3', null]);
    const big = h.answerValue(Buffer.alloc(65, 0x61), 64);
    expect(big.text).toBeNull();
    const record = h.endTurn();
    expect(record.frames).toBe(4);
    expect(record.calls.map((c) => [c.op, c.outcome])).toEqual([
      ['value', 'ok'],
      ['value', 'ok'],
      ['value', 'budget_exceeded'],
      ['value', 'budget_exceeded'],
    ]);
  });

  test('the first value of a turn over the cap is refused too_large, not decoded', () => {
    const { h } = sessionHost();
    h.beginTurn();
    const big = h.answerValue(Buffer.alloc(65, 0x61), 64);
    expect(big.text).toBeNull();
    expect(JSON.parse(big.answer.toString('utf8'))).toMatchObject({ ok: false, error: { kind: 'too_large' } });
    h.endTurn();
  });
});
