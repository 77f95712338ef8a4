// `mimobox python`: the REPL on a session, fed from a pipe.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { needsMore } from '../../dist/esm/cli/python.js';
import { HAVE_PYTHON, PYTHON_HOME } from './python-home.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mimobox.js');

function repl(input: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, 'python', '--home', PYTHON_HOME, ...args], { timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

describe('block detection', () => {
  test('a line ending in a colon, a decorator or open brackets needs more; a blank line ends a block', () => {
    expect(needsMore('x = 1')).toBe(false);
    expect(needsMore('def f():')).toBe(true);
    expect(needsMore('@cache')).toBe(true);
    expect(needsMore('print((1,')).toBe(true);
    expect(needsMore('s = "(" # (')).toBe(false);
    expect(needsMore('def f():\n    return 1')).toBe(true);
    expect(needsMore('def f():\n    return 1\n')).toBe(false);
  });
});

describe.skipIf(!HAVE_PYTHON)('mimobox python', () => {
  test('turns keep state, blocks end at a blank line, exit() gives the status', async () => {
    const r = await repl('x = 41\nx + 1\ndef double(a):\n    return a * 2\n\ndouble(x)\nprint("hi")\nexit(3)\nprint("never")\n');
    expect(r.stdout).toBe('42\n82\nhi\n');
    expect(r.code).toBe(3);
  }, 120_000);

  test('an exception is printed and the session goes on; a timed-out turn starts a new session', async () => {
    const r = await repl('y = 1\n1/0\ny\nwhile True: pass\n\ny\n', ['--timeout', '500ms']);
    expect(r.stderr).toContain('ZeroDivisionError');
    expect(r.stdout).toBe('1\n');
    expect(r.stderr).toMatch(/ended the session .*starting a new one/);
    expect(r.stderr).toContain("NameError: name 'y' is not defined");
    expect(r.code).toBe(0);
  }, 120_000);

  test('bad usage exits 2', async () => {
    const r = await repl('', ['--timeout', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--timeout');
    // A directory that does not exist is bad usage too, as in `mimobox run` and `mimobox worker`.
    const dir = await repl('', ['--dir', '/nonexistent-mimobox-dir']);
    expect(dir.code).toBe(2);
    expect(dir.stderr).toContain('DIR_NOT_FOUND');
  });
});
