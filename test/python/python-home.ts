// Where the CPython artefacts are for these tests: $MIMOBOX_PYTHON_HOME, set
// by .ci/run from scripts/fetch-python.sh. A user's clone without them skips
// the suite with a message; CI (CI=true) fails instead, so it cannot skip.
export const PYTHON_HOME = process.env.MIMOBOX_PYTHON_HOME ?? '';
export const HAVE_PYTHON = PYTHON_HOME !== '';

if (!HAVE_PYTHON) {
  const msg =
    'test/python: MIMOBOX_PYTHON_HOME is not set, so the CPython tests are skipped. ' +
    'Run `export MIMOBOX_PYTHON_HOME=$(bash scripts/fetch-python.sh)` to run them.';
  if (process.env.CI === 'true') throw new Error(`${msg} (CI must run them)`);
  console.warn(msg);
}
