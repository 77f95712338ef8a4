// Fails when source files import each other in a cycle, in either language,
// or when shared TypeScript reaches up into a backend.
//
// Rust (src-rs/): every .rs file is a module (`module/load.rs` is
// `module/load`, `host/mod.rs` is `host`). Its edges are the paths it names:
// `crate::a::b`, `super::x`, `self::x`, and the items of `use` groups
// (`use super::{a, b::C}`), each resolved to the deepest file that exists.
// `mod x;` declarations are not edges; a `pub use x::Y` in a mod.rs is.
// Test code (`#[cfg(test)] mod tests`, `*_tests.rs`) sits on top of
// everything and is left out.
//
// TypeScript (src-ts/): every .ts file, with its static `import`/`export
// ... from` edges to relative modules (`import type` included: a type cycle
// is still two files that cannot be understood apart). Dynamic `import()`
// loads lazily on purpose and is not an edge. Nothing under src-ts/shared/
// may import from native/ or js-backend/: shared code knows no backend.
//
//   node scripts/check-module-graph.mjs [--json]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..');
const RUST = join(ROOT, 'src-rs');
const TS = join(ROOT, 'src-ts');

function filesUnder(dir, ext) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => join(e.parentPath, e.name));
}

/** `a/b.rs` → `a/b`, `a/mod.rs` → `a`. */
const rustModule = (dir, file) => relative(dir, file).replaceAll('\\', '/').slice(0, -3).replace(/(^|\/)mod$/, '');

/** The Rust text without comments and test modules. */
function rustSource(file) {
  return readFileSync(file, 'utf8')
    .replace(/\/\/.*$/gm, '')
    .replace(/#\[cfg\((?:all\()?test[^\]]*\]\s*mod\s+\w+\s*\{[\s\S]*$/, '');
}

/** The module paths a `use` tree names, e.g. `super::{a, b::{C, d}}` → [super::a, super::b::C, super::b::d]. */
function expandUse(tree) {
  const brace = tree.indexOf('{');
  if (brace < 0) return [tree.trim()];
  const prefix = tree.slice(0, brace).trim();
  const inner = tree.slice(brace + 1, tree.lastIndexOf('}'));
  const items = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= inner.length; i++) {
    const ch = inner[i];
    if (ch === '{') depth++;
    else if (ch === '}') depth--;
    else if ((ch === ',' && depth === 0) || i === inner.length) {
      const item = inner.slice(start, i).trim();
      if (item) items.push(...expandUse(item).map((p) => (p === 'self' ? prefix.replace(/::$/, '') : `${prefix}${p}`)));
      start = i + 1;
    }
  }
  return items;
}

/** The file-level module graph of src-rs: module → the modules it names. */
export function moduleGraph(dir = RUST) {
  const files = filesUnder(dir, '.rs').filter((f) => !/(^|[/\\])(lib|main)\.rs$/.test(relative(dir, f)) && !f.endsWith('_tests.rs'));
  const modules = new Set(files.map((f) => rustModule(dir, f)));
  /** The deepest existing module along `segments` (absolute, from the crate root). */
  const resolveSegments = (segments) => {
    for (let n = segments.length; n > 0; n--) {
      const m = segments.slice(0, n).join('/');
      if (modules.has(m)) return m;
    }
    return undefined;
  };
  const graph = new Map();
  for (const file of files) {
    const self = rustModule(dir, file);
    const isModRs = /(^|[/\\])mod\.rs$/.test(file);
    // `super` of a file module is its folder; of a folder's mod.rs, the folder's parent.
    const selfParts = self.split('/');
    const superParts = selfParts.slice(0, -1);
    const text = rustSource(file);
    const paths = [];
    for (const m of text.matchAll(/\buse\s+([^;]+);/g)) paths.push(...expandUse(m[1].replace(/\s+/g, ' ')));
    for (const m of text.matchAll(/\b((?:crate|super|self)(?:::\w+)+)/g)) paths.push(m[1]);
    const deps = new Set();
    for (const p of paths) {
      const segs = p.split('::').map((s) => s.trim()).filter(Boolean);
      let base;
      let rest = segs.slice(1);
      if (segs[0] === 'crate') base = [];
      else if (segs[0] === 'super') base = isModRs ? selfParts.slice(0, -1) : superParts;
      else if (segs[0] === 'self') base = isModRs ? selfParts : superParts.concat(selfParts.slice(-1));
      else if (isModRs && modules.has([...selfParts, segs[0]].join('/'))) {
        // `pub use child::X` in a mod.rs names its own child.
        base = selfParts;
        rest = segs;
      } else continue;
      while (rest[0] === 'super') {
        base = base.slice(0, -1);
        rest = rest.slice(1);
      }
      const target = resolveSegments([...base, ...rest]) ?? (base.length ? base.join('/') : undefined);
      if (target && target !== self && modules.has(target)) deps.add(target);
    }
    graph.set(self, deps);
  }
  return graph;
}

const STATIC_IMPORT = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm;

/** The file-level import graph of src-ts: file (relative, no extension) → the files it imports. */
export function tsGraph(dir = TS) {
  const graph = new Map();
  const files = filesUnder(dir, '.ts').filter((f) => !f.endsWith('.d.ts'));
  const id = (f) => relative(dir, f).replaceAll('\\', '/').replace(/\.ts$/, '');
  for (const file of files) {
    const deps = new Set();
    // Whole-line comments first: one may mention a glob such as `fd/*.ts`.
    const text = readFileSync(file, 'utf8').replace(/^\s*\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
    for (const m of text.matchAll(STATIC_IMPORT)) {
      const target = resolve(dirname(file), m[1].replace(/\.js$/, '.ts'));
      if (existsSync(target)) deps.add(id(target));
    }
    graph.set(id(file), deps);
  }
  return graph;
}

/** shared/ files that import a backend, as "from → to". */
export function sharedReachingUp(graph) {
  const out = [];
  for (const [from, deps] of graph) {
    if (!from.startsWith('shared/')) continue;
    for (const to of deps) if (/^(native|js-backend)\//.test(to)) out.push(`${from} → ${to}`);
  }
  return out;
}

/** A cycle as a list of modules (first = last), or null. */
export function findCycle(graph) {
  const state = new Map();
  const stack = [];
  const visit = (m) => {
    state.set(m, 'open');
    stack.push(m);
    for (const dep of [...(graph.get(m) ?? [])].sort()) {
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

/** Modules by layer: each depends only on modules in lower layers (the graph must have no cycle). */
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

/** Every finding, as sentences; empty when both languages are clean. */
export function problems({ rust = moduleGraph(), ts = tsGraph() } = {}) {
  const found = [];
  const rustCycle = findCycle(rust);
  if (rustCycle) found.push(`src-rs modules import each other in a cycle: ${rustCycle.join(' → ')}`);
  const tsCycle = findCycle(ts);
  if (tsCycle) found.push(`src-ts files import each other in a cycle: ${tsCycle.join(' → ')}`);
  for (const edge of sharedReachingUp(ts)) found.push(`src-ts/shared must not import a backend: ${edge}`);
  return found;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rust = moduleGraph();
  const ts = tsGraph();
  const found = problems({ rust, ts });
  if (found.length > 0) {
    for (const p of found) console.error(`check-module-graph: ${p}`);
    process.exit(1);
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify({ rust: layers(rust), ts: layers(ts) }));
  else layers(rust).forEach((l, i) => console.log(`src-rs layer ${i}: ${l.join(', ')}`));
}
