// Compiles each CPython binary once per test run, before any test file
// starts: a cold compile of the 100 MB snapshot takes ~40 s and ~2 GiB, and
// test files run in parallel. Later loads map the cached artefact.
import { PYTHON_HOME, HAVE_PYTHON } from './python-home.js';

export default async function setup(): Promise<void> {
  if (!HAVE_PYTHON) return;
  const { createPython } = await import('../../dist/esm/python/index.js');
  for (const snapshot of [true, false]) {
    const started = Date.now();
    const py = await createPython({ home: PYTHON_HOME, snapshot });
    await py.destroy();
    console.log(`test/python: ${snapshot ? 'python-snapshot.wasm' : 'python.wasm'} ready in ${Date.now() - started} ms`);
  }
}
