// The examples in README.md and docs/*.md run as written, and their links resolve.
//
// The marker: a fenced ```js block whose previous non-blank line is exactly
//
//     <!-- runnable -->
//
// is extracted and run by this test (the comment is invisible on GitHub and
// npm, and keeps the info string a plain `js`, which other tools match).
// Unmarked blocks are prose: fragments, placeholders such as
// /srv/bin/judge.wasm, or the queue, which needs Redis. Mark a block only if
// it runs here without the network.
//
// How a block runs: written to `<tmp>/example.mjs` beside a
// `node_modules/mimobox-wasm` symlink to this checkout, so
// `from 'mimobox-wasm'` and `'mimobox-wasm/python'` resolve through
// package.json's exports to dist/ (build it first: `npm run build:ts`), as
// they would for a user. It runs with `process.execPath` and the checkout as
// its cwd, so relative paths such as `test/guests/c/read_file.wasm` name the
// committed guests; it must exit 0 within the timeout. Blocks that import
// `mimobox-wasm/python` or read MIMOBOX_PYTHON_HOME need it (scripts/fetch-python.sh):
// without it they are skipped, and under CI=true the test fails instead.
//
// examples/*.mjs (which import ../dist directly) run here too, and every
// relative link in these pages must name a file, and a heading, that exists.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MARKER = '<!-- runnable -->';
const TIMEOUT_MS = 180_000;
const PYTHON_HOME = process.env.MIMOBOX_PYTHON_HOME ?? '';
const UNDER_CI = process.env.CI === 'true';

interface Block { file: string; line: number; code: string; python: boolean }

/** Every fenced block in `file`, with whether the marker precedes it. */
function blocks(file: string): { info: string; line: number; code: string; marked: boolean }[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i]);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    let prev = i - 1;
    while (prev >= 0 && lines[prev].trim() === '') prev--;
    found.push({ info: open[1], line: i + 1, code: lines.slice(i + 1, end).join('\n') + '\n', marked: prev >= 0 && lines[prev].trim() === MARKER });
    i = end;
  }
  return found;
}

const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const RUNNABLE: Block[] = DOCS.flatMap((file) =>
  blocks(file).filter((b) => b.marked).map((b) => {
    if (b.info !== 'js') throw new Error(`${file}:${b.line}: ${MARKER} marks a \`\`\`${b.info} block; only \`\`\`js blocks run`);
    return { file, line: b.line, code: b.code, python: b.code.includes("'mimobox-wasm/python'") || b.code.includes('MIMOBOX_PYTHON_HOME') };
  }),
);

const work = mkdtempSync(join(tmpdir(), 'mimobox-docs-examples-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

/** Runs `code` as an ES module importing the package by name; resolves with its stdout. */
function run(code: string, python: boolean): Promise<string> {
  const dir = join(work, String(n++));
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules', 'mimobox-wasm'), 'junction');
  writeFileSync(join(dir, 'example.mjs'), code);
  return runFile(join(dir, 'example.mjs'), python);
}

function runFile(file: string, python: boolean): Promise<string> {
  const env = { ...process.env, ...(python ? { MIMOBOX_PYTHON_HOME: PYTHON_HOME } : {}) };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file], { cwd: ROOT, env, timeout: TIMEOUT_MS, maxBuffer: 16 << 20 }, (e, stdout, stderr) =>
      e ? reject(new Error(`${e.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`)) : resolve(stdout),
    );
  });
}

/** Python blocks need the CPython artefacts: skipped without them, except under CI, which must run them. */
function needPython(what: string, skip: (note?: string) => void): void {
  if (PYTHON_HOME !== '') return;
  if (UNDER_CI) throw new Error(`${what} needs MIMOBOX_PYTHON_HOME (scripts/fetch-python.sh): CI must run it`);
  skip(`${what}: MIMOBOX_PYTHON_HOME is not set`);
}

describe('runnable examples in README.md and docs/', () => {
  test('dist/ is built and the docs mark runnable examples', () => {
    expect(existsSync(join(ROOT, 'dist', 'esm', 'index.js')), 'run `npm run build:ts` first').toBe(true);
    // README's quick start, and at least one Python example, are among them.
    expect(RUNNABLE.some((b) => b.file === 'README.md' && !b.python)).toBe(true);
    expect(RUNNABLE.some((b) => b.python)).toBe(true);
  });

  for (const b of RUNNABLE) {
    const name = `${b.file}:${b.line}`;
    test(name, async ({ skip }) => {
      if (b.python) needPython(name, skip);
      await run(b.code, b.python);
    }, TIMEOUT_MS + 10_000);
  }
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const h = fenced ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (!h) continue;
    const slug = h[1].trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replaceAll(' ', '-');
    const n = seen.get(slug);
    seen.set(slug, (n ?? -1) + 1);
    out.add(n === undefined ? slug : `${slug}-${n + 1}`);
  }
  return out;
}

describe('links in README.md, docs/, SECURITY.md and bench/README.md', () => {
  // Sections move between README and the guides: a relative link must name a
  // file that exists and, with a #fragment, a heading that is there.
  test.each([...DOCS, 'SECURITY.md', 'bench/README.md'])('%s', (file) => {
    const path = join(ROOT, file);
    const text = readFileSync(path, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
    const broken: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue;
      const [rel, fragment] = target.split('#');
      const to = rel === '' ? path : join(path, '..', rel);
      if (!existsSync(to)) broken.push(`${target}: no such file`);
      else if (fragment && to.endsWith('.md') && !anchors(to).has(fragment)) broken.push(`${target}: no such heading`);
    }
    expect(broken).toEqual([]);
  });
});

describe('examples/', () => {
  const files = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.mjs')).sort();
  for (const f of files) {
    test(`examples/${f}`, async ({ skip }) => {
      const file = join(ROOT, 'examples', f);
      const python = readFileSync(file, 'utf8').includes('python/index.js');
      if (python) needPython(`examples/${f}`, skip);
      const out = await runFile(file, python);
      expect(out.length).toBeGreaterThan(0);
    }, TIMEOUT_MS + 10_000);
  }
});
