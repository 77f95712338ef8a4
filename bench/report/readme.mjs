// Puts the report between the markers of bench/README.md
// (<!-- bench:results:start/end -->) and of docs/benchmarks.md, the
// benchmarks guide the package README links to (<!-- BENCH:START/END -->).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir } from '../lib.mjs';

/** The two pages, each with its markers and its path to bench/charts/. */
export const README_TARGETS = [
  { file: join(benchDir, 'README.md'), start: '<!-- bench:results:start -->', end: '<!-- bench:results:end -->', chartBase: 'charts/' },
  { file: join(benchDir, '..', 'docs', 'benchmarks.md'), start: '<!-- BENCH:START -->', end: '<!-- BENCH:END -->', chartBase: '../bench/charts/' },
];

/** `render(chartBase)` gives the Markdown for one README; logs what it did. */
export function updateReadmes(render, command, log) {
  for (const { file, start, end, chartBase } of README_TARGETS) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const i = text.indexOf(start); const j = text.indexOf(end);
    if (i < 0 || j <= i) { log(`bench: ${file} has no ${start} ... ${end} markers; not updated`); continue; }
    writeFileSync(file, `${text.slice(0, i + start.length)}\n\nCommand: \`${command}\`\n\n${render(chartBase)}\n${text.slice(j)}`);
    log(`bench: updated ${file}`);
  }
}
