// Issue 21, item 5: a Python session's guest must not stall the event loop through its door.
// The attack: the session's value frame (the displayhook's repr of a turn's final expression)
// can be forged with `_host.call`; each 16 MiB one was decoded to text on the event loop
// (~220 ms; 16 of them stalled it 16 times over 100 ms, worst 598 ms), and none counted against
// maxCallsPerTurn. Now each frame's size is checked on its byte length before it is decoded
// (a value is at most 1 MiB: `too_large` past it), and every frame past the turn's first value
// counts against maxCallsPerTurn. A real CPython session, native backend.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPython, type PythonRunner, type PythonTool } from '../../dist/esm/python/index.js';
import { HAVE_PYTHON, PYTHON_HOME } from '../python/python-home.js';

const echo: PythonTool = { name: 'echo', inputSchema: { type: 'object', properties: { text: { type: 'string' } } }, handler: ({ text }) => text };

/** Python: forges `count` value frames of `size` bytes and prints what each answer said. */
const forge = (count: number, size: number): string => `
import _host, json
mark = b"\\x00mimobox:value\\x00"
frame = mark + b"\\xff" * (${size} - len(mark))
said = []
for _ in range(${count}):
    answer = _host.call(frame)
    said.append("ok" if answer == b"" else json.loads(answer)["error"]["kind"])
print(json.dumps(said))
`;

/** The worst gap between ticks of a 10 ms interval while `work` runs, in ms. */
async function worstGap(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 10);
  try {
    await work();
  } finally {
    clearInterval(ticker);
  }
  return Math.max(worst, performance.now() - last);
}

describe.skipIf(!HAVE_PYTHON)('forged value frames', () => {
  let runner: PythonRunner;
  beforeAll(async () => {
    runner = await createPython({ home: PYTHON_HOME, timeoutMs: 120_000, memoryLimitMb: 256 });
  }, 300_000);
  afterAll(async () => {
    await runner?.destroy();
  });

  test('16 frames of 16 MiB are refused unread: the event loop keeps ticking', async () => {
    const s = await runner.openSession({ tools: [echo], maxCallsPerTurn: 100 });
    try {
      // The cost of what the old code did per frame, measured here: decode 16 MiB to text (the
      // fastest of three, so that a slow measurement cannot excuse a stall).
      const payload = Buffer.alloc(16 << 20, 0xff);
      let decodeMs = Infinity;
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        payload.toString('utf8');
        decodeMs = Math.min(decodeMs, performance.now() - started);
      }

      let said: string[] = [];
      const gap = await worstGap(async () => {
        const r = await s.run(forge(16, (16 << 20) - 64));
        said = JSON.parse(r.stdout.toString()) as string[];
      });
      // A decode on the loop stalls it at least decodeMs per frame (the old code here: worst gap
      // 304 ms, 15 gaps over 100 ms, against a 231 ms decode). What is left (~60 ms here) is the
      // door handing 16 MiB to JS and the collector freeing it, not anything read.
      const baseline = await worstGap(() => s.run(forge(16, 64)));
      expect(gap).toBeLessThan(Math.max(decodeMs, 4 * baseline));
      expect(said).toEqual(Array(16).fill('too_large'));
    } finally {
      await s.close();
    }
  }, 120_000);

  test('every value frame past the turn\'s first counts against maxCallsPerTurn', async () => {
    const s = await runner.openSession({ tools: [echo], maxCallsPerTurn: 10 });
    try {
      const r = await s.run(forge(50, 64));
      const said = JSON.parse(r.stdout.toString()) as string[];
      // The first is the turn's own value; 10 more are the budget; the other 39 are refused.
      expect(said.filter((k) => k === 'ok')).toHaveLength(11);
      expect(said.slice(11)).toEqual(Array(39).fill('budget_exceeded'));
      expect(r.tools?.frames).toBe(49);
      expect(r.tools?.calls.filter((c) => c.op === 'value' && c.outcome === 'budget_exceeded')).toHaveLength(39);
      // The budget is shared: no tool call is left in this turn; the next turn has its own.
      const next = await s.run('from host import tools\ntools.echo(text="fresh")');
      expect(next.value).toBe("'fresh'");
    } finally {
      await s.close();
    }
  }, 120_000);

  test('a session without tools counts and bounds value frames too', async () => {
    const s = await runner.openSession({ maxCallsPerTurn: 3 });
    try {
      const said = JSON.parse((await s.run(forge(6, 64))).stdout.toString()) as string[];
      expect(said).toEqual(['ok', 'ok', 'ok', 'ok', 'budget_exceeded', 'budget_exceeded']);
      expect((await s.run(forge(1, 2 << 20))).stdout.toString()).toBe('["too_large"]\n');
      // The displayhook's own value still arrives in a turn that forged nothing.
      expect((await s.run('6 * 7')).value).toBe('42');
    } finally {
      await s.close();
    }
  }, 120_000);
});
