// Issue 21, item 9 (tools): no tool call may run outside a session's turns. The attack: an
// `atexit` hook registered in a turn calls a tool while `session.close()` runs CPython's
// shutdown; the handler ran, and no turn record showed it. Startup code (before the first
// turn) is the other way in. Now the host answers frames only between a turn's start and its
// end: any other frame is refused `cancelled` (the guest gets ToolCancelled) and reaches neither
// the gate nor the handler. A real CPython session, native backend.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPython, type PythonRunner, type PythonTool } from '../../dist/esm/python/index.js';
import { HAVE_PYTHON, PYTHON_HOME } from '../python/python-home.js';

describe.skipIf(!HAVE_PYTHON)('tool calls after the last turn', () => {
  let runner: PythonRunner;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mimobox-close-tools-'));
    runner = await createPython({ home: PYTHON_HOME, timeoutMs: 60_000, fsReadwrite: [{ host: dir, guest: '/out' }] });
  }, 300_000);
  afterAll(async () => {
    await runner?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an atexit hook that calls a tool during close() is refused; the handler never runs', async () => {
    const ran: string[] = [];
    const gated: string[] = [];
    const note: PythonTool = {
      name: 'note',
      inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
      handler: ({ text }) => {
        ran.push(text as string);
        return 'noted';
      },
    };
    const s = await runner.openSession({ tools: [note], gate: (call) => (gated.push(call.tool), true) });
    const turn = await s.run(`
import atexit
from host import tools

def _at_exit():
    try:
        said = "ran: " + tools.note(text="at exit")
    except Exception as e:
        said = type(e).__name__ + ": " + str(e)
    with open("/out/said.txt", "w") as f:
        f.write(said)

atexit.register(_at_exit)
tools.note(text="in a turn")
`);
    expect(turn.exitCode).toBe(0);
    expect(ran).toEqual(['in a turn']);
    await s.close();
    // The hook ran (it wrote its file) and was told no; nothing reached the gate or the handler.
    expect(readFileSync(join(dir, 'said.txt'), 'utf8')).toMatch(/^ToolCancelled: .*outside a turn/);
    expect(ran).toEqual(['in a turn']);
    expect(gated).toEqual(['note']);
  }, 120_000);
});
