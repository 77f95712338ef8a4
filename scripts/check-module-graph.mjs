// Fails when the Rust modules of src-rs/ import each other in a cycle.
// Edges are the `crate::<module>` paths a file names (test modules, which
// sit on top of everything, are left out). Prints the layering when clean.
//   node scripts/check-module-graph.mjs [--json]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const SRC = join(import.meta.dirname, '..', 'src-rs');

/** module name → the modules it names, from every .rs file under src-rs/. */
export function moduleGraph(dir = SRC) {
  const graph = new Map();
  const walk = (d, prefix) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name), `${prefix}${entry.name}/`);
      else if (entry.name.endsWith('.rs')) {
        const name = `${prefix}${entry.name.slice(0, -3)}`.replace(/\/mod$/, '');
        if (name === 'lib' || name.endsWith('_tests')) continue;
        const text = readFileSync(join(d, entry.name), 'utf8').replace(/#\[cfg\(test\)\]\s*mod tests \{[\s\S]*$/, '');
        const top = name.split('/')[0];
        const deps = new Set([...text.matchAll(/crate::([a-z_]+)/g)].map((m) => m[1]).filter((m) => m !== top));
        const into = graph.get(top) ?? new Set();
        for (const dep of deps) into.add(dep);
        graph.set(top, into);
      }
    }
  };
  walk(dir, '');
  return graph;
}

/** A cycle as a list of modules (first = last), or null. */
export function findCycle(graph) {
  const state = new Map();
  const stack = [];
  const visit = (m) => {
    state.set(m, 'open');
    stack.push(m);
    for (const dep of graph.get(m) ?? []) {
      if (!graph.has(dep)) continue;
      if (state.get(dep) === 'open') return [...stack.slice(stack.indexOf(dep)), dep];
      if (!state.has(dep)) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(m, 'done');
    return null;
  };
  for (const m of [...graph.keys()].sort()) {
    if (!state.has(m)) {
      const found = visit(m);
      if (found) return found;
    }
  }
  return null;
}

/** Modules by layer: each depends only on modules in lower layers. */
export function layers(graph) {
  const level = new Map();
  const of = (m) => {
    if (level.has(m)) return level.get(m);
    const deps = [...(graph.get(m) ?? [])].filter((d) => graph.has(d));
    const l = deps.length === 0 ? 0 : 1 + Math.max(...deps.map(of));
    level.set(m, l);
    return l;
  };
  const out = [];
  for (const m of graph.keys()) (out[of(m)] ??= []).push(m);
  return out.map((l) => l.sort());
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const graph = moduleGraph();
  const cycle = findCycle(graph);
  if (cycle) {
    console.error(`check-module-graph: src-rs modules import each other in a cycle: ${cycle.join(' → ')}`);
    process.exit(1);
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify(layers(graph)));
  else layers(graph).forEach((l, i) => console.log(`layer ${i}: ${l.join(', ')}`));
}
