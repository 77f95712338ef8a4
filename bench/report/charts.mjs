// results.json → SVG charts (bench/charts/*.svg), drawn by vega-lite specs
// rendered with vega's headless SVG renderer (no browser, no canvas).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { SHORT } from '../sections/labels.mjs';

const CONFIG = { font: 'sans-serif', background: 'white', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, labelLimit: 360 } };
const ok = (r) => r && !r.error && Number.isFinite(r.p50);

// One colour per backend / mode across every chart (tableau10 and its neighbours).
const COLOURS = {
  native: '#4c78a8', 'native handle.run': '#72b7b2', 'native inline: false': '#9d755d', 'native epoch-only': '#54a24b',
  'native fixed fuel': '#f58518', 'native no limits': '#88d27a', 'pure-JS': '#e45756', 'node:wasi': '#b279a2',
  'wasmtime CLI': '#eeca3b', 'CLI epoch': '#bab0ac', 'CLI fuel': '#ff9da6',
};
/** A colour scale over the series present, in the order they first appear. */
function colourScale(values, field) {
  const domain = [...new Set(values.map((v) => v[field]))];
  if (!domain.every((d) => COLOURS[d])) return {};
  return { scale: { domain, range: domain.map((d) => COLOURS[d]) } };
}

/** Renders one vega-lite spec to an SVG string. */
export async function renderSvg(spec) {
  const view = new vega.View(vega.parse(compile({ config: CONFIG, ...spec }).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Horizontal grouped bars: one group per `group`, one bar per `series`. */
function groupedBars({ title, values, x, xTitle, log = false, width = 560, rule = null }) {
  const bars = {
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'group', type: 'nominal', title: null, sort: null, axis: { labelLimit: 240 } },
      yOffset: { field: 'series', sort: null },
      // No stacking: bars of one group sit side by side (yOffset), and a log scale has no zero to stack from.
      x: { field: x, type: 'quantitative', title: xTitle, stack: null, scale: log ? { type: 'log' } : { zero: true } },
      color: { field: 'series', type: 'nominal', title: null, sort: null, legend: { orient: 'bottom', columns: 2 }, ...colourScale(values, 'series') },
    },
  };
  const text = { mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 }, encoding: { ...bars.encoding, text: { field: 'text' }, color: { value: '#333' } } };
  const layers = [bars, text];
  if (rule !== null) layers.push({ data: { values: [{ v: rule }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { x: { field: 'v', type: 'quantitative' } } });
  return { title, width, height: { step: 14 }, data: { values }, layer: layers };
}

const ms = (v) => (v < 1 ? `${(v * 1000).toFixed(v < 0.1 ? 1 : 0)} µs` : v < 1000 ? `${v.toFixed(v < 10 ? 2 : 1)} ms` : `${(v / 1000).toFixed(2)} s`);

function latencyChart(results) {
  const values = [];
  for (const [g, byB] of Object.entries(results.latency)) {
    for (const [k, r] of Object.entries(byB)) if (ok(r)) values.push({ group: g, series: SHORT[k], p50: r.p50, text: ms(r.p50) });
  }
  return values.length ? groupedBars({ title: 'Hot execute latency, P50 (log scale; shorter is better)', values, x: 'p50', xTitle: 'ms', log: true }) : null;
}

function coldChart(results) {
  const values = [];
  for (const [g, byKey] of Object.entries(results.cold)) {
    for (const [k, r] of Object.entries(byKey)) if (k !== 'args' && ok(r)) values.push({ group: g, series: r.label, p50: r.p50, text: ms(r.p50) });
  }
  return values.length ? groupedBars({ title: 'Cold start: new process, new sandbox, first execute, P50 (log scale)', values, x: 'p50', xTitle: 'ms', log: true }) : null;
}

function throughputChart(results) {
  const values = [];
  for (const [g, byB] of Object.entries(results.throughput)) {
    for (const [k, r] of Object.entries(byB)) {
      if (r.error) continue;
      for (const [n, v] of Object.entries(r)) if (v?.perSec) values.push({ guest: g, backend: SHORT[k], inflight: Number(n), perSec: v.perSec });
    }
  }
  if (!values.length) return null;
  return {
    title: 'Throughput against executes in flight (longer is better)',
    data: { values },
    facet: { field: 'guest', type: 'nominal', title: null },
    columns: 2,
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 260, height: 220,
      layer: [{
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'inflight', type: 'quantitative', title: 'executes in flight', scale: { type: 'log', base: 2 }, axis: { values: results.inflight ?? [1, 2, 8] } },
          y: { field: 'perSec', type: 'quantitative', title: 'executes / s' },
          color: { field: 'backend', type: 'nominal', title: null, sort: null, legend: { orient: 'bottom', columns: 3 }, ...colourScale(values, 'backend') },
        },
      }],
    },
  };
}

/** Time per mode over epoch-only, on the real programs and the CPU-bound guests. */
function programsChart(results) {
  const values = [];
  const add = (name, byM) => {
    const ep = byM['native-epoch']?.computeMs;
    if (!ep) return;
    for (const [k, r] of Object.entries(byM)) {
      if (!r?.computeMs || k === 'native-epoch' || k === 'native-worker' || k.startsWith('cli')) continue;
      values.push({ group: name, series: SHORT[k], ratio: r.computeMs / ep, text: `${(r.computeMs / ep).toFixed(2)}×` });
    }
  };
  for (const [, p] of Object.entries(results.programs ?? {})) add(p.short ?? p.title.replace(/`/g, ''), p);
  for (const [g, c] of Object.entries(results.cpu)) add(`${g} ${c.args.join(' ')}`, c);
  return values.length ? groupedBars({ title: 'Cost of the limits: compute time ÷ native epoch-only (1.0 = epoch-only, dashed)', values, x: 'ratio', xTitle: 'ratio to epoch-only', rule: 1, width: 480 }) : null;
}

function pythonChart(results) {
  const cold = results.python?.cold;
  if (!cold || cold.error) return null;
  const parts = [['node start', 'boot'], ['import mimobox-wasm/python', 'import'], ['createPython (map artefact)', 'create'], ['first print(6*7)', 'firstRun']];
  const values = parts.map(([part, k], i) => ({ what: 'new process', part, order: i, ms: cold[k].p50 }));
  return {
    title: 'CPython, new process → first result: P50 of each part (ms)',
    width: 560, height: 40, data: { values },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'what', type: 'nominal', title: null },
      x: { field: 'ms', type: 'quantitative', title: 'ms', stack: 'zero' },
      color: { field: 'part', type: 'nominal', title: null, sort: parts.map(([p]) => p), legend: { orient: 'bottom', columns: 4 } },
      order: { field: 'order' },
    },
  };
}

const CHARTS = { latency: latencyChart, cold: coldChart, throughput: throughputChart, programs: programsChart, python: pythonChart };

/**
 * Writes one SVG per chart that has data into `dir`; returns
 * { name → file name } of those written.
 */
export async function writeCharts(results, dir) {
  mkdirSync(dir, { recursive: true });
  const written = {};
  for (const [name, make] of Object.entries(CHARTS)) {
    const spec = make(results);
    if (!spec) continue;
    writeFileSync(join(dir, `${name}.svg`), await renderSvg(spec));
    written[name] = `${name}.svg`;
  }
  return written;
}
