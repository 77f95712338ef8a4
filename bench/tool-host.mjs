// The Python tool host's own cost (src-ts/python/tools), without an interpreter: one frame
// through ToolHost.answer for a small call and a list, the refusals of hostile 1 MiB frames, the
// worst case of the validation step budget, and a tool's schema compile (first and kept).
// Prints a Markdown table and writes bench/tool-host.json.
//   node bench/tool-host.mjs [--quick]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir, fmtMs, importPackage, loadavg, summarize } from './lib.mjs';

const quick = process.argv.includes('--quick');
const { ToolHost } = await importPackage({ entry: 'python/tools/index.js' });

const schema = {
  type: 'object',
  properties: { code: { type: 'string' }, year: { type: 'integer' } },
  required: ['code'],
  additionalProperties: false,
};
const lookup = { name: 'lookup', inputSchema: schema, handler: (a) => ({ region: a.code, year: a.year ?? 2026 }) };
const frame = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o));

/** Samples of `fn` (awaited), after a warm-up of a tenth as many. */
async function sample(n, fn) {
  for (let i = 0; i < Math.ceil(n / 10); i++) await fn(i);
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return summarize(out);
}

const rows = [];
const row = (what, s, note = '') => rows.push({ what, ...s, note });
const n = quick ? 2_000 : 20_000;
const host = new ToolHost([lookup], { maxCallsPerTurn: 1e9 });
const call = frame({ v: 1, id: 1, op: 'call', tool: 'lookup', args: { code: 'EMEA', year: 2025 } });
row('call round trip (valid, sync handler)', await sample(n, () => host.answer(call)));
const list = frame({ v: 1, id: 1, op: 'list' });
row('list', await sample(n, () => host.answer(list)));
const bad = frame({ v: 1, id: 1, op: 'call', tool: 'lookup', args: { code: 'EMEA', year: 'x' } });
row('call refused by the schema', await sample(n, () => host.answer(bad)));

const big = 20;
const deep = Buffer.alloc(1 << 20, '[');
row('1 MiB of "[" (refused by the scan)', await sample(big, () => host.answer(deep)));
const xs = Array.from({ length: 100_000 }, (_, i) => i);
const wide = new ToolHost([{ name: 'sum', handler: (a) => a.xs.length }], { maxCallsPerTurn: 1e9 });
const wideFrame = frame({ v: 1, id: 1, op: 'call', tool: 'sum', args: { xs, s: 'x'.repeat(400_000) } });
row(`${(wideFrame.length / 1024).toFixed(0)} KiB call (100,000 numbers, 400 kB string)`, await sample(big, () => wide.answer(wideFrame)));
const branch = { type: 'array', items: { $ref: '#/$defs/n' } };
const exp = new ToolHost([{
  name: 'e',
  inputSchema: { type: 'object', properties: { n: { $ref: '#/$defs/n' } }, $defs: { n: { oneOf: [branch, branch] } } },
  handler: () => 1,
}], { maxCallsPerTurn: 1e9 });
let nested = [];
for (let i = 0; i < 60; i++) nested = [nested];
const expFrame = frame({ v: 1, id: 1, op: 'call', tool: 'e', args: { n: nested } });
row('2^60-visit schema (stopped by the step budget)', await sample(big, () => exp.answer(expFrame)), 'the most a guest can make such a schema cost');

let k = 0;
row('new ToolHost, 1 tool, new schema (Ajv compile)', await sample(quick ? 20 : 100, () => {
  new ToolHost([{ name: 'a', inputSchema: { type: 'object', properties: { [`p${k++}`]: { type: 'integer' } } }, handler: () => 1 }]);
}));
row('new ToolHost, 10 tools, schemas seen before', await sample(quick ? 100 : 1000, () => {
  new ToolHost(Array.from({ length: 10 }, (_, i) => ({ ...lookup, name: `t${i}` })));
}));

const line = (cells) => `| ${cells.join(' | ')} |`;
console.log(line(['', 'n', 'P50', 'P99', 'max', 'note']));
console.log(line(['---', '---:', '---:', '---:', '---:', '---']));
for (const r of rows) console.log(line([r.what, r.n, fmtMs(r.p50), fmtMs(r.p99), fmtMs(r.max), r.note]));
writeFileSync(join(benchDir, 'tool-host.json'), `${JSON.stringify({ date: new Date().toISOString(), quick, loadavg: loadavg(), rows }, null, 2)}\n`);
