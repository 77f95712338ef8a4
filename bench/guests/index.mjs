// The bench's guests: the small test guests (test/guests/, prebuilt) for
// latency, throughput, CPU-bound modes and RSS, and the real programs
// (the SQLite shell built here, CPython from MIMOBOX_PYTHON_HOME).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const guestsDir = join(here, '..', '..', 'test', 'guests');


const MiB = 1024 * 1024;

/** Byte sum mod 2^32, as read_file prints it. */
function byteSum(buf) {
  let s = 0;
  for (const b of buf) s = (s + b) >>> 0;
  return s;
}

/**
 * The guests. `args`/`smallArgs`: the CPU-bound guests are also run with a
 * trivial input so that fixed costs (spawn, instantiate) can be subtracted.
 */
export function makeGuests({ quick, dataDir, write = true }) {
  const dataFile = join(dataDir, 'data.bin');
  const data = Buffer.alloc(MiB);
  let x = 2463534242;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    data[i] = x & 0xff;
  }
  if (write) writeFileSync(dataFile, data);
  const sum = byteSum(data);
  const shaMiB = quick ? 4 : 16;
  const nbodySteps = quick ? 200000 : 1000000;
  const SHA = {
    0: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    4: null,
    16: 'c15182dcfa5c5fa2574a5647a6ad64fc9e520a6e93494280ce2ac25471a47b47',
  };
  return {
    hello: {
      title: 'hello world (WAT, 185 B)',
      wasm: join(guestsDir, 'wat', 'hello.wasm'),
      args: [],
      check: (out) => (out === 'hello, world\n' ? null : `stdout ${JSON.stringify(out.slice(0, 40))}`),
    },
    sha256: {
      title: `sha256sum ${shaMiB} MiB (C, CPU-bound)`,
      wasm: join(guestsDir, 'c', 'sha256sum.wasm'),
      args: [String(shaMiB)],
      smallArgs: ['0'],
      cpu: true,
      check: (out) => (/^[0-9a-f]{64}\n$/.test(out) && (!SHA[shaMiB] || out === `${SHA[shaMiB]}\n`) ? null : `stdout ${JSON.stringify(out.slice(0, 70))}`),
    },
    nbody: {
      title: `nbody ${nbodySteps} steps (C, CPU-bound, float)`,
      wasm: join(guestsDir, 'c', 'nbody.wasm'),
      args: [String(nbodySteps)],
      smallArgs: ['0'],
      cpu: true,
      check: (out) => (/^-0\.169075164\n-0\.1690\d+\n$/.test(out) ? null : `stdout ${JSON.stringify(out)}`),
    },
    output: {
      title: 'output_flood 1 MiB to stdout (C)',
      wasm: join(guestsDir, 'c', 'output_flood.wasm'),
      args: [String(MiB)],
      check: (out, bytes) => (bytes === MiB ? null : `stdout has ${bytes} bytes`),
    },
    readfile: {
      title: 'read_file of a 1 MiB file (C, preopened dir)',
      wasm: join(guestsDir, 'c', 'read_file.wasm'),
      args: ['/data/data.bin'],
      needsData: true,
      check: (out) => (out === `bytes=${MiB} sum=${sum}\n` ? null : `stdout ${JSON.stringify(out)}`),
    },
  };
}


/** The SQLite shell of bench/guests/build-sqlite.sh, run on `:memory:`. */
export const SQLITE_WASM = join(here, 'sqlite3.wasm');

/**
 * The real programs: interpreters, whose branchy code is what users run.
 * `sqlite`: a CPU-heavy recursive CTE (2M rows; 100k with --quick), trivial
 * input `SELECT 1;`. The CPython ones run through mimobox-wasm/python with
 * `code` as `python -c code` (native backend only: V8 in Node 20 has no wasm
 * exception handling).
 */
export function makePrograms({ quick }) {
  const rows = quick ? 100_000 : 2_000_000;
  const sum = (BigInt(rows) * BigInt(rows + 1)) / 2n;
  return {
    sqlite: {
      title: `SQLite shell, recursive CTE of ${rows.toLocaleString('en-US')} rows`,
      short: `SQLite CTE ${rows >= 1e6 ? `${rows / 1e6}M` : `${rows / 1000}k`} rows`,
      wasm: SQLITE_WASM,
      args: [':memory:', `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<${rows}) SELECT sum(x) FROM c;`],
      smallArgs: [':memory:', 'SELECT 1;'],
      check: (out) => (out === `${sum}\n` ? null : `stdout ${JSON.stringify(out.slice(0, 40))}`),
    },
    'py-print': {
      title: 'CPython `print(6*7)`',
      short: 'CPython print(6*7)',
      python: true,
      args: ['print(6*7)'],
      check: (out) => (out === '42\n' ? null : `stdout ${JSON.stringify(out.slice(0, 40))}`),
    },
    // The same with CPython's full shutdown (Py_FinalizeEx: GC passes, module
    // clean-up, frees), which mimobox-wasm/python skips by default after a
    // normal end: what that skip saves a throwaway interpreter.
    'py-print-finalize': {
      title: 'CPython `print(6*7)` with `finalize: true` (CPython\'s full shutdown)',
      short: 'CPython print(6*7), full shutdown',
      python: true,
      runOptions: { finalize: true },
      args: ['print(6*7)'],
      check: (out) => (out === '42\n' ? null : `stdout ${JSON.stringify(out.slice(0, 40))}`),
    },
    'py-numpy': {
      title: 'CPython `import numpy as np; print(np.arange(10).sum())`',
      short: 'CPython numpy one-liner',
      python: true,
      args: ['import numpy as np; print(np.arange(10).sum())'],
      check: (out) => (out === '45\n' ? null : `stdout ${JSON.stringify(out.slice(0, 40))}`),
    },
  };
}
