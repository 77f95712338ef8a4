// Row names of the runner keys (bench/measure.mjs runnerFactories), shared by
// the sections (progress lines, results.json) and the report.

/** Long labels: what each row measures. */
export const LABEL = {
  native: 'native (default: no fuel metering)',
  'native-handle': 'native, load() + handle.run()',
  'native-worker': 'native, inline: false (every execute on a worker thread)',
  'native-epoch': 'native, fuel: null (epoch only, set explicitly)',
  'native-fuel': 'native, fixed fuel (fuel: 10^12)',
  'native-nolimits': 'native epoch-only, 24 h timeout, 4 GiB memory',
  js: 'pure-JS backend',
  'node-wasi': 'node:wasi (in-process, no limits)',
  cli: 'wasmtime CLI (process per run, precompiled, no limits)',
  'cli-epoch': 'wasmtime CLI, epoch interruption (-W timeout=86400s)',
  'cli-fuel': 'wasmtime CLI, fuel (-W fuel=10^15)',
};

/** Short labels: table columns and chart legends. */
export const SHORT = {
  native: 'native',
  'native-handle': 'native handle.run',
  'native-worker': 'native inline: false',
  'native-epoch': 'native epoch-only',
  'native-fuel': 'native fixed fuel',
  'native-nolimits': 'native no limits',
  js: 'pure-JS',
  'node-wasi': 'node:wasi',
  cli: 'wasmtime CLI',
  'cli-epoch': 'CLI epoch',
  'cli-fuel': 'CLI fuel',
};
