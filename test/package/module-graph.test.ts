// Source files import one way, in both languages (scripts/check-module-graph.mjs):
// no file-level cycle in src-rs or src-ts, and src-ts/shared knows no backend.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { findCycle, layers, moduleGraph, problems, sharedReachingUp, tsGraph } from '../../scripts/check-module-graph.mjs';

type Graph = Map<string, Set<string>>;
const scratch = mkdtempSync(join(tmpdir(), 'mimobox-graph-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
/** A tree of files under a fresh directory. */
function tree(files: Record<string, string>): string {
  const dir = join(scratch, String(n++));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('this repository', () => {
  test('no finding in either language', () => {
    expect(problems()).toEqual([]);
  });

  test('src-rs layers as the design says', () => {
    const levels = layers(moduleGraph() as Graph) as string[][];
    const level = (m: string) => levels.findIndex((l) => l.includes(m));
    // store ← host/ ← engine ← module/ ← sandbox: the WASI side knows no
    // engine, the engine no load pipeline.
    expect(level('store')).toBeLessThan(level('host/call'));
    expect(level('host/call')).toBeLessThan(level('engine'));
    expect(level('engine')).toBeLessThan(level('module/load'));
    expect(level('module/load')).toBeLessThan(level('sandbox'));
    expect(level('run')).toBeLessThan(level('session'));
    expect(level('session')).toBeLessThan(level('binding/sandbox'));
  });
});

describe('the Rust check reads file-level modules', () => {
  test('crate:: paths, resolved to the deepest file', () => {
    const dir = tree({
      'a.rs': 'use crate::host::call::Thing;\n',
      'host/mod.rs': 'pub mod call;\n',
      'host/call.rs': 'use crate::a::A;\n#[cfg(test)]\nmod tests { use crate::zzz; }\n',
    });
    const g = moduleGraph(dir) as Graph;
    expect([...g.get('a')!]).toEqual(['host/call']);
    expect(findCycle(g)).toEqual(['a', 'host/call', 'a']);
  });

  test('a planted cycle between two files of one folder, through super:: and a use group', () => {
    const dir = tree({
      'module/mod.rs': 'pub mod load;\npub mod link;\n',
      'module/load.rs': 'use super::{fingerprint::Fp, link::{check, link}};\n',
      'module/link.rs': '// a helper of load\nuse super::load::EntryCheck;\n',
      'module/fingerprint.rs': '',
    });
    const g = moduleGraph(dir) as Graph;
    expect([...g.get('module/load')!].sort()).toEqual(['module/fingerprint', 'module/link']);
    expect(findCycle(g)).toEqual(['module/link', 'module/load', 'module/link']);
    writeFileSync(join(dir, 'module/link.rs'), 'use crate::module::fingerprint::Fp;\n');
    expect(findCycle(moduleGraph(dir) as Graph)).toBeNull();
  });

  test('self:: in a mod.rs, and pub use of a child, are edges; mod declarations and comments are not', () => {
    const dir = tree({
      'binding/mod.rs': 'mod sandbox;\npub use session::NativeSession;\n// use crate::other;\nfn f() { self::sandbox::go() }\n',
      'binding/sandbox.rs': '',
      'binding/session.rs': '',
      'other.rs': '',
    });
    expect([...(moduleGraph(dir) as Graph).get('binding')!].sort()).toEqual(['binding/sandbox', 'binding/session']);
  });
});

describe('the TypeScript check', () => {
  test('a planted cycle of static imports, type imports included; dynamic import() is not an edge', () => {
    const dir = tree({
      'fd/descriptor.ts': "import type { Dir } from './dir.js';\n",
      'fd/dir.ts': "import { Descriptor } from './descriptor.js';\nconst lazy = () => import('../late.js');\n",
      'late.ts': "// reads fd/*.ts lazily\nimport { Dir } from './fd/dir.js';\n",
    });
    const g = tsGraph(dir) as Graph;
    expect(findCycle(g)).toEqual(['fd/descriptor', 'fd/dir', 'fd/descriptor']);
    expect([...g.get('fd/dir')!]).toEqual(['fd/descriptor']);
    expect([...g.get('late')!]).toEqual(['fd/dir']);
  });

  test('shared/ importing a backend is a finding', () => {
    const dir = tree({
      'shared/budget.ts': "import { loadNativeBinding } from '../native/addon.js';\n",
      'native/addon.ts': "import { x } from '../shared/other.js';\n",
      'shared/other.ts': '',
    });
    const g = tsGraph(dir) as Graph;
    expect(sharedReachingUp(g)).toEqual(['shared/budget → native/addon']);
    expect(findCycle(g)).toBeNull();
    expect(problems({ rust: new Map(), ts: g })).toEqual(['src-ts/shared must not import a backend: shared/budget → native/addon']);
  });
});
