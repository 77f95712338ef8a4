#!/usr/bin/env node
// The reporting half of the bench: results.json → Markdown tables (stdout),
// SVG charts (bench/charts/), and with --update-readme the tables and charts
// in bench/README.md and docs/benchmarks.md. bench/run.mjs calls it after measuring;
// on its own it re-reports a saved run:
//
//   node bench/report.mjs [results.json] [--update-readme] [--no-write] [--charts-dir DIR]
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchDir } from './lib.mjs';
import { markdown } from './report/markdown.mjs';
import { targets } from './report/targets.mjs';
import { writeCharts } from './report/charts.mjs';
import { updateReadmes } from './report/readme.mjs';

const log = (m) => process.stderr.write(`${m}\n`);

/**
 * Reports `results` (an object, or the path of a results.json). `write`:
 * charts into `chartsDir` (default bench/charts); `updateReadme`: the READMEs.
 * Returns the Markdown printed.
 */
export async function report(results, { write = true, updateReadme = false, chartsDir = join(benchDir, 'charts') } = {}) {
  const r = typeof results === 'string' ? JSON.parse(readFileSync(results, 'utf8')) : results;
  r.targets = targets(r);
  let charts = null;
  if (write) {
    charts = await writeCharts(r, chartsDir);
    log(`bench: wrote ${Object.keys(charts).length} charts to ${chartsDir}`);
  }
  const md = markdown(r, r.targets, { charts, chartBase: 'bench/charts/' });
  process.stdout.write(`\n${md}\n`);
  if (updateReadme) updateReadmes((chartBase) => markdown(r, r.targets, { charts, chartBase }), r.env?.command ?? 'node bench/run.mjs', log);
  return md;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'update-readme': { type: 'boolean' }, 'no-write': { type: 'boolean' }, 'charts-dir': { type: 'string' } },
  });
  await report(positionals[0] ?? join(benchDir, 'results.json'), {
    write: !values['no-write'],
    updateReadme: values['update-readme'] === true,
    ...(values['charts-dir'] ? { chartsDir: resolve(values['charts-dir']) } : {}),
  });
}
