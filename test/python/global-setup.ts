// Compiles each CPython binary once per test run, before any test file
// starts: a cold compile of the 100 MB snapshot takes ~40 s and ~2 GiB, and
// test files run in parallel. Later loads map the cached artefact.
import { PYTHON_HOME, HAVE_PYTHON } from './python-home.js';

export default async function setup(): Promise<void> {
  if (!HAVE_PYTHON) return;
  const { createPython } = await import('../../dist/esm/python/index.js');
  // The default engine runs unmetered; tests with an exact fuel budget use
  // the fuel-metered engine, which compiles its own artefact (the snapshot).
  const builds = [{ snapshot: true }, { snapshot: false }, { snapshot: true, fuel: 1e12 }];
  for (const build of builds) {
    const started = Date.now();
    const py = await createPython({ home: PYTHON_HOME, ...build });
    await py.destroy();
    const name = `${build.snapshot ? 'python-snapshot.wasm' : 'python.wasm'}${build.fuel ? ' (fuel-metered engine)' : ''}`;
    console.log(`test/python: ${name} ready in ${Date.now() - started} ms`);
  }
}
