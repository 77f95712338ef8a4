// Command-line options of `npm run bench` (bench/run.mjs) and the sampling
// budgets they imply.
import { join } from 'node:path';
import { benchDir } from './lib.mjs';

export const HELP = `Usage: node bench/run.mjs [options]      (npm run bench -- [options])

  --quick              smoke run (a few minutes): short windows, fewer samples, smaller inputs
  --only LIST          backends to run, comma-separated: native,js,node-wasi,cli
  --sections LIST      latency,cold,throughput,cpu,engines,rss,programs,python (default: all)
  --guests LIST        hello,sha256,nbody,output,readfile (default: all)
  --out FILE           where to write the JSON results (default bench/results.json)
  --no-write           do not write any file (results.json, charts)
  --charts-dir DIR     where to write the SVG charts (default bench/charts)
  --update-readme      put the tables into bench/README.md and docs/benchmarks.md (between their markers)
  --readme-from FILE   only report a saved results.json: tables, charts, READMEs (= node bench/report.mjs FILE)
  -h, --help           this text

The wasmtime CLI rows need a wasmtime binary: bash bench/setup.sh installs one
into bench/.tools (or set WASMTIME=/path/to/wasmtime); without it they are
skipped with a note. The CPython rows need MIMOBOX_PYTHON_HOME
(export MIMOBOX_PYTHON_HOME=$(bash scripts/fetch-python.sh)); without it they
are skipped with a note.`;

export const BACKEND_KEYS = ['native', 'js', 'node-wasi', 'cli'];
export const SECTION_KEYS = ['latency', 'cold', 'throughput', 'cpu', 'engines', 'rss', 'programs', 'python'];
export const INFLIGHT = [1, 2, 8];

/** Parses argv; throws an Error with a readable message on a bad option. */
export function parseArgs(argv) {
  const o = {
    quick: false, only: null, sections: null, guests: null, out: join(benchDir, 'results.json'), chartsDir: join(benchDir, 'charts'), write: true, updateReadme: false, readmeFrom: null, help: false,
  };
  const list = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);
  const alias = { nodewasi: 'node-wasi', wasi: 'node-wasi', 'node:wasi': 'node-wasi', wasmtime: 'cli' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    switch (name) {
      case '--quick': o.quick = true; break;
      case '--only': o.only = list(val()).map((b) => alias[b] ?? b); break;
      case '--sections': o.sections = list(val()); break;
      case '--guests': o.guests = list(val()); break;
      case '--out': o.out = val(); break;
      case '--no-write': o.write = false; break;
      case '--charts-dir': o.chartsDir = val(); break;
      case '--update-readme': o.updateReadme = true; break;
      case '--readme-from': o.readmeFrom = val(); break;
      case '-h': case '--help': o.help = true; break;
      default: throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  for (const b of o.only ?? []) if (!BACKEND_KEYS.includes(b)) throw new Error(`--only: unknown backend ${b}`);
  for (const s of o.sections ?? []) if (!SECTION_KEYS.includes(s)) throw new Error(`--sections: unknown section ${s}`);
  return o;
}

/**
 * Sampling budgets (ms). Each cell: warm-up, then samples until the window
 * ends (and at least `minSamples`).
 */
export function budget(quick) {
  return quick
    ? { warmMs: 50, windowMs: 250, cpuWindowMs: 400, minSamples: 3, tputMs: 200, coldSamples: 3, rssRuns: 8, programWindowMs: 400, programMinSamples: 2, pythonColdSamples: 3, pythonWindowMs: 600, session: { openSamples: 3, turnSamples: 30, oneShotSamples: 5, toolSamples: 2 } }
    : { warmMs: 300, windowMs: 2000, cpuWindowMs: 3000, minSamples: 8, tputMs: 2000, coldSamples: 15, rssRuns: 24, programWindowMs: 4000, programMinSamples: 5, pythonColdSamples: 10, pythonWindowMs: 4000, session: { openSamples: 15, turnSamples: 300, oneShotSamples: 30, toolSamples: 7 } };
}
