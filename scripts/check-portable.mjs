#!/usr/bin/env node
// Portability check for the Rust sources, runnable without a cross toolchain:
// fails on platform-specific code that is not inside an item, statement or
// block whose #[cfg(...)] excludes the platforms it cannot compile on.
//
//   Unix-only:    std::os::unix, std::os::fd, libc::, and (in a file that
//                 imports the Unix std extension traits) their methods such
//                 as .uid(), .mode()
//   Linux-only:   std::os::linux, "/proc/..." paths (macOS has no /proc)
//   Windows-only: std::os::windows, windows_sys::, winapi::, windows::Win32
//
// A region counts as guarded against a platform when its cfg predicate is
// false there: #[cfg(unix)], #[cfg(not(windows))], #[cfg(target_os =
// "linux")], all(...)/any(...) of those. `cfg!(unix)` in an `if` guards
// nothing (both branches are compiled) and so does not count. Comments are
// ignored; test code counts, since `cargo test` compiles it on every OS.
//
// Usage: node scripts/check-portable.mjs [dir=src-rs]. The CLI prints one line
// per finding (file:line:col) and exits 1 if there are any. What it cannot
// see (a type that only exists on Unix, reached through a Unix-only method)
// is left to clippy on each OS in the release workflow.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Platforms the package ships for, as cfg sees them. */
const PLATFORMS = {
  linux: { unix: true, windows: false, target_os: 'linux', target_family: 'unix' },
  macos: { unix: true, windows: false, target_os: 'macos', target_family: 'unix' },
  windows: { unix: false, windows: true, target_os: 'windows', target_family: 'windows' },
};

/** What each kind of use needs excluded, and how to find it. */
const RULES = [
  { what: 'std::os::unix', kind: 'Unix-only', excluded: ['windows'], re: /\bstd\s*::\s*os\s*::\s*unix\b/g, in: 'code' },
  { what: 'std::os::fd', kind: 'Unix-only', excluded: ['windows'], re: /\bstd\s*::\s*os\s*::\s*fd\b/g, in: 'code' },
  { what: 'std::os::linux', kind: 'Linux-only', excluded: ['windows', 'macos'], re: /\bstd\s*::\s*os\s*::\s*linux\b/g, in: 'code' },
  { what: 'libc::', kind: 'Unix-only', excluded: ['windows'], re: /(?<![\w:])libc\s*::/g, in: 'code' },
  { what: '/proc/', kind: 'Linux-only', excluded: ['windows', 'macos'], re: /\/proc\//g, in: 'strings' },
  { what: 'std::os::windows', kind: 'Windows-only', excluded: ['linux', 'macos'], re: /\bstd\s*::\s*os\s*::\s*windows\b/g, in: 'code' },
  { what: 'windows_sys::', kind: 'Windows-only', excluded: ['linux', 'macos'], re: /(?<![\w:])windows_sys\s*::/g, in: 'code' },
  { what: 'winapi::', kind: 'Windows-only', excluded: ['linux', 'macos'], re: /(?<![\w:])winapi\s*::/g, in: 'code' },
  { what: 'windows::Win32', kind: 'Windows-only', excluded: ['linux', 'macos'], re: /(?<![\w:])windows\s*::\s*Win32\b/g, in: 'code' },
];

/**
 * Methods of std's Unix extension traits (fs::MetadataExt, PermissionsExt,
 * OpenOptionsExt, DirBuilderExt). Only looked for in files that import
 * std::os::unix: elsewhere a method of that name is someone else's.
 */
const UNIX_EXT_METHODS = /\.\s*(uid|gid|mode|dev|ino|nlink|rdev|blksize|blocks|atime|atime_nsec|mtime|mtime_nsec|ctime|ctime_nsec)\s*\(\s*\)|\bfrom_mode\s*\(|\.\s*mode\s*\(\s*0o|\.\s*custom_flags\s*\(/g;

const isIdent = (ch) => ch !== undefined && /[\p{L}\p{N}_]/u.test(ch);

/**
 * Splits Rust source into two same-length views: `noComments` (comments
 * blanked, strings kept) and `bare` (comments, strings and char literals
 * blanked). Newlines survive, so offsets and line numbers match the source.
 * Also returns the string literals' spans.
 */
export function lex(src) {
  const noComments = src.split('');
  const bare = src.split('');
  const strings = [];
  const blank = (arr, from, to) => {
    for (let k = from; k < to; k++) if (arr[k] !== '\n') arr[k] = ' ';
  };
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    const next = src[i + 1];
    if (ch === '/' && next === '/') {
      let j = src.indexOf('\n', i);
      if (j < 0) j = src.length;
      blank(noComments, i, j);
      blank(bare, i, j);
      i = j;
      continue;
    }
    if (ch === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < src.length && depth > 0) {
        if (src[j] === '/' && src[j + 1] === '*') (depth++, (j += 2));
        else if (src[j] === '*' && src[j + 1] === '/') (depth--, (j += 2));
        else j++;
      }
      blank(noComments, i, j);
      blank(bare, i, j);
      i = j;
      continue;
    }
    // Raw strings: r"..", r#".."#, br"..", cr"..".
    const raw = /^(?:b|c)?r(#*)"/.exec(src.slice(i, i + 260));
    if (raw && !isIdent(src[i - 1])) {
      const close = `"${raw[1]}`;
      const start = i + raw[0].length;
      let j = src.indexOf(close, start);
      j = j < 0 ? src.length : j + close.length;
      strings.push({ start: i, end: j });
      blank(bare, i, j);
      i = j;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      j = Math.min(src.length, j + 1);
      strings.push({ start: i, end: j });
      blank(bare, i, j);
      i = j;
      continue;
    }
    if (ch === "'") {
      // A char literal ('x', '\n', '\u{..}', '\''), else a lifetime or label.
      let j = -1;
      if (next === '\\') {
        j = i + 2;
        while (j < src.length && src[j] !== "'" && src[j] !== '\n') j++;
        if (src[j] !== "'") j = -1;
      } else {
        const cp = src.codePointAt(i + 1);
        const len = cp !== undefined && cp > 0xffff ? 2 : 1;
        if (src[i + 1 + len] === "'") j = i + 1 + len;
      }
      if (j > 0) {
        blank(bare, i, j + 1);
        i = j + 1;
        continue;
      }
    }
    i++;
  }
  return { noComments: noComments.join(''), bare: bare.join(''), strings };
}

/** Parses a cfg predicate (the text inside `cfg(...)`) into a tree. */
export function parseCfg(text) {
  const tokens = text.match(/[A-Za-z_][\w]*|"(?:[^"\\]|\\.)*"|[(),=]/g) ?? [];
  let p = 0;
  const expr = () => {
    const name = tokens[p++];
    if (name === undefined) throw new Error(`empty cfg predicate: cfg(${text})`);
    if (tokens[p] === '(' && (name === 'all' || name === 'any' || name === 'not')) {
      p++;
      const args = [];
      while (tokens[p] !== ')' && p < tokens.length) {
        args.push(expr());
        if (tokens[p] === ',') p++;
      }
      p++;
      return { op: name, args };
    }
    if (tokens[p] === '=') {
      p++;
      return { key: name, value: (tokens[p++] ?? '""').slice(1, -1) };
    }
    return { key: name };
  };
  return expr();
}

/**
 * The predicate's value on a platform: true, false, or undefined when it
 * depends on something else (features, test, target_arch...). Kleene logic.
 */
export function evalCfg(node, platform) {
  const facts = PLATFORMS[platform];
  if (node.op === 'not') {
    const v = evalCfg(node.args[0], platform);
    return v === undefined ? undefined : !v;
  }
  if (node.op === 'all' || node.op === 'any') {
    const vs = node.args.map((a) => evalCfg(a, platform));
    const stop = node.op === 'any';
    if (vs.includes(stop)) return stop;
    return vs.includes(undefined) ? undefined : !stop;
  }
  if (node.value === undefined) {
    if (node.key === 'unix' || node.key === 'windows') return facts[node.key];
    return undefined;
  }
  if (node.key === 'target_os') return facts.target_os === node.value;
  if (node.key === 'target_family') return facts.target_family === node.value;
  if (node.key === 'target_vendor') return node.value === 'apple' ? platform === 'macos' : platform === 'macos' ? false : undefined;
  if (node.key === 'target_env' && platform === 'windows') return node.value === 'msvc' ? undefined : false;
  return undefined;
}

/** Index just past the bracket that closes the one at `open` (in `bare`). */
function matchClose(bare, open) {
  const pairs = { '(': ')', '[': ']', '{': '}' };
  const stack = [];
  for (let i = open; i < bare.length; i++) {
    const ch = bare[i];
    if (pairs[ch]) stack.push(pairs[ch]);
    else if (ch === ')' || ch === ']' || ch === '}') {
      stack.pop();
      if (stack.length === 0) return i + 1;
    }
  }
  return bare.length;
}

const ITEM_START = /^(?:pub(?:\s*\([^)]*\))?\s+)?(?:use|fn|impl|mod|struct|enum|union|trait|type|const|static|extern|unsafe|async|let|macro_rules!|#\[)/;

/**
 * Where the item, statement, field, arm or expression that starts at `from`
 * ends: a `;` (or for a non-item, a `,`) at its own depth, the end of its
 * first top-level `{...}` block, or the bracket closing its parent.
 */
function extentFrom(bare, from) {
  const head = bare.slice(from, from + 200);
  const isItem = ITEM_START.test(head);
  const isUse = /^(?:pub(?:\s*\([^)]*\))?\s+)?use\b/.test(head);
  let depth = 0;
  for (let i = from; i < bare.length; i++) {
    const ch = bare[i];
    if (ch === '(' || ch === '[') depth++;
    else if (ch === '{') {
      if (depth === 0 && !isUse) return matchClose(bare, i);
      depth++;
    } else if (ch === ')' || ch === ']' || ch === '}') {
      if (depth === 0) return i;
      depth--;
    } else if (depth === 0 && (ch === ';' || (ch === ',' && !isItem))) return i + 1;
  }
  return bare.length;
}

/** Skips whitespace and outer attributes (#[...]) from `i`. */
function skipAttributes(bare, i) {
  for (;;) {
    while (i < bare.length && /\s/.test(bare[i])) i++;
    if (bare[i] === '#' && bare[i + 1] === '[') i = matchClose(bare, i + 1);
    else return i;
  }
}

/** Innermost `{...}` around `pos`, or the whole file. */
function enclosingBlock(bare, pos) {
  const stack = [];
  for (let i = 0; i < pos; i++) {
    if (bare[i] === '{') stack.push(i);
    else if (bare[i] === '}') stack.pop();
  }
  const open = stack.pop();
  return open === undefined ? { start: 0, end: bare.length } : { start: open, end: matchClose(bare, open) };
}

/**
 * The cfg-guarded regions of a source: [{ start, end, cfg, text }], and the
 * `mod name;` declarations guarded by a cfg (so their files are too).
 */
export function guardedRegions(src) {
  const { noComments, bare } = lex(src);
  const regions = [];
  const mods = [];
  const attr = /#(!?)\[\s*cfg\s*\(/g;
  for (let m; (m = attr.exec(bare)); ) {
    const open = m.index + m[0].length - 1;
    const close = matchClose(bare, open);
    const text = noComments.slice(open + 1, close - 1);
    const cfg = parseCfg(text);
    const attrEnd = matchClose(bare, m.index + 1 + m[1].length);
    if (m[1] === '!') {
      const block = enclosingBlock(bare, m.index);
      regions.push({ ...block, cfg, text });
      continue;
    }
    const start = skipAttributes(bare, attrEnd);
    const end = extentFrom(bare, start);
    regions.push({ start: m.index, end, cfg, text });
    const mod = /^(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+([A-Za-z_]\w*)\s*;/.exec(bare.slice(start, end + 1));
    if (mod) mods.push({ name: mod[1], cfg, text });
  }
  return { regions, mods };
}

function lineCol(src, index) {
  const before = src.slice(0, index);
  const line = before.split('\n').length;
  return { line, col: index - before.lastIndexOf('\n') };
}

/**
 * Platform-specific uses in `src` that some platform in their rule's
 * `excluded` list would still compile. `fileCfgs`: predicates guarding the
 * whole file (its `mod` declaration's cfg).
 */
export function findUnguarded(src, fileCfgs = []) {
  const { noComments, bare, strings } = lex(src);
  const { regions } = guardedRegions(src);
  const excludedAt = (pos, platform) =>
    fileCfgs.some((cfg) => evalCfg(cfg, platform) === false) ||
    regions.some((r) => r.start <= pos && pos < r.end && evalCfg(r.cfg, platform) === false);
  const inString = (pos) => strings.some((s) => s.start <= pos && pos < s.end);
  const findings = [];
  const report = (index, what, kind, excluded) => {
    const missing = excluded.filter((p) => !excludedAt(index, p));
    if (missing.length === 0) return;
    const { line, col } = lineCol(src, index);
    findings.push({ line, col, what, kind, compilesOn: missing });
  };
  for (const rule of RULES) {
    const view = rule.in === 'code' ? bare : noComments;
    for (const m of view.matchAll(rule.re)) {
      if (rule.in === 'strings' && !inString(m.index)) continue;
      report(m.index, rule.what, rule.kind, rule.excluded);
    }
  }
  if (/\bstd\s*::\s*os\s*::\s*unix\b/.test(bare)) {
    for (const m of bare.matchAll(UNIX_EXT_METHODS)) {
      report(m.index, m[0].replace(/\s+/g, ''), 'Unix-only (std::os::unix extension trait method)', ['windows']);
    }
  }
  return findings.sort((a, b) => a.line - b.line || a.col - b.col);
}

function rustFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...rustFiles(p));
    else if (e.name.endsWith('.rs')) out.push(p);
  }
  return out.sort();
}

/**
 * Checks every .rs file under `dir`; a file declared by a cfg-guarded `mod
 * name;` inherits that guard. Returns findings with their file paths.
 */
export function checkTree(dir) {
  const files = rustFiles(dir);
  const sources = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
  const fileCfgs = new Map();
  for (const [file, src] of sources) {
    const base = /(?:^|[\\/])(?:lib|main|mod)\.rs$/.test(file) ? dirname(file) : file.replace(/\.rs$/, '');
    for (const mod of guardedRegions(src).mods) {
      for (const target of [join(base, `${mod.name}.rs`), join(base, mod.name, 'mod.rs')]) {
        fileCfgs.set(target, [...(fileCfgs.get(target) ?? []), mod.cfg]);
      }
    }
  }
  const findings = [];
  for (const [file, src] of sources) {
    for (const f of findUnguarded(src, fileCfgs.get(file) ?? [])) findings.push({ file, ...f });
  }
  return findings;
}

export function formatFinding(f, root = process.cwd()) {
  const where = `${relative(root, f.file).split(sep).join('/')}:${f.line}:${f.col}`;
  return `${where}: ${f.what} is ${f.kind} but compiles on ${f.compilesOn.join(', ')}: put it under a #[cfg(...)] that excludes ${f.compilesOn.join(' and ')}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const dir = process.argv[2] ?? join(root, 'src-rs');
  const findings = checkTree(dir);
  for (const f of findings) console.error(formatFinding(f));
  if (findings.length > 0) {
    console.error(`check-portable: ${findings.length} platform-specific use(s) outside a cfg guard in ${relative(root, dir) || dir}`);
    process.exit(1);
  }
  console.log(`check-portable: ${relative(root, dir) || dir}: no unguarded platform-specific code`);
}
