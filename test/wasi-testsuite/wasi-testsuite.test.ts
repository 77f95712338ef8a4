// The public wasi-testsuite on both backends, with a pass count per backend
// as the bar. The suite is committed (suite/), so it is never skipped: a
// missing copy is a broken checkout and fails.
import { describe, expect, test } from 'vitest';
import { BACKENDS, type BackendName } from '../conformance/backends.js';
import { listCases, runCase, SUITE_DIR, suitePresent } from './suite.js';

/**
 * The JS backend's known failures, each with why. Every one must be a case
 * where the JS backend is stricter than wasmtime, never looser; a case listed
 * here that starts passing fails the test, so the list only shrinks.
 */
export const JS_KNOWN_FAILURES: Readonly<Record<string, string>> = {};

/** At least this many must pass. */
const BARS: Record<BackendName, number> = { native: 72, js: 70 };

if (!suitePresent()) {
  throw new Error(`wasi-testsuite: ${SUITE_DIR} is absent: the suite is committed under test/wasi-testsuite/suite`);
}

describe.each(BACKENDS)('wasi-testsuite [%s]', (backend) => {
  test(`passes at least ${BARS[backend]} programs, and fails only the listed ones`, async () => {
    const cases = listCases();
    expect(cases.length).toBe(72);
    const failures: Record<string, string> = {};
    for (const c of cases) {
      const o = await runCase(backend, c);
      if (!o.pass) failures[c.name] = o.detail;
    }
    const passed = cases.length - Object.keys(failures).length;
    console.log(`wasi-testsuite [${backend}]: ${passed}/${cases.length} passed`);
    for (const [name, detail] of Object.entries(failures)) console.log(`  FAIL ${name}: ${detail}`);
    const expected = backend === 'js' ? JS_KNOWN_FAILURES : {};
    expect(Object.keys(failures).sort()).toEqual(Object.keys(expected).sort());
    expect(passed).toBeGreaterThanOrEqual(BARS[backend]);
  }, 600_000);
});
