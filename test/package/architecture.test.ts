// ARCHITECTURE.md is the map of the code: every path it names must exist, so
// a move that forgets the map fails here. Names inside a folder's row
// (`convert.rs` beside `src-rs/binding/`) are checked against that folder,
// its fd/ and the folders above it (`native/` beside `src-ts/shared/`).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEXT = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');
const TOP = /^(src-ts|src-rs|test|scripts|docs|bench)\//;
const FILE = /^[\w.-]+\.(ts|rs|mjs|md)$|^[\w-]+\/$/;

test('every path ARCHITECTURE.md names exists', () => {
  const missing: string[] = [];
  let checked = 0;
  for (const line of TEXT.split('\n')) {
    const names = [...line.matchAll(/`([^`\s]+)`/g)].map((m) => m[1]!);
    // The folder a row or sentence is about: the first repository path on the line.
    const base = names.find((n) => TOP.test(n) && n.endsWith('/'));
    for (const name of names) {
      if (name.includes('*')) continue; // a glob, not a path
      if (TOP.test(name)) {
        checked++;
        if (!existsSync(join(ROOT, name))) missing.push(name);
      } else if (base && FILE.test(name) && !/^(README|SECURITY)\.md$/.test(name)) {
        checked++;
        const places = [base, join(base, 'fd'), dirname(base), dirname(dirname(base))];
        if (!places.some((p) => existsSync(join(ROOT, p, name)))) missing.push(`${base}${name}`);
      }
    }
  }
  expect(missing).toEqual([]);
  expect(checked).toBeGreaterThan(60);
});

test('it answers the three questions a newcomer asks first', () => {
  for (const q of ['Add a WASI call to the JS backend', 'Add a limit', 'Add a Python helper option']) {
    expect(TEXT).toContain(`**${q}**`);
  }
});
