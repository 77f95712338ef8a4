// The Rust core's modules import one way (scripts/check-module-graph.mjs).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { findCycle, layers, moduleGraph } from '../../scripts/check-module-graph.mjs';

type Graph = Map<string, Set<string>>;

test('src-rs has no import cycle, and its folders layer as the design says', () => {
  const graph = moduleGraph() as Graph;
  expect(findCycle(graph)).toBeNull();
  const levels = layers(graph) as string[][];
  const level = (m: string) => levels.findIndex((l) => l.includes(m));
  // store ← host/ ← engine ← module/ ← sandbox: the WASI side knows no
  // engine, the engine no load pipeline.
  expect(level('store')).toBeLessThan(level('host'));
  expect(level('host')).toBeLessThan(level('engine'));
  expect(level('engine')).toBeLessThan(level('module'));
  expect(level('module')).toBeLessThan(level('sandbox'));
  expect(level('run')).toBeLessThan(level('session'));
  expect(level('session')).toBeLessThan(level('binding'));
});

test('the check finds a cycle when there is one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mimobox-graph-'));
  try {
    mkdirSync(join(dir, 'host'));
    writeFileSync(join(dir, 'a.rs'), 'use crate::b::B;\n');
    writeFileSync(join(dir, 'b.rs'), 'use crate::host::C;\n');
    writeFileSync(join(dir, 'host', 'mod.rs'), 'use crate::a::A;\n#[cfg(test)]\nmod tests { use crate::zzz; }\n');
    expect(findCycle(moduleGraph(dir) as Graph)).toEqual(['a', 'b', 'host', 'a']);
    writeFileSync(join(dir, 'host', 'mod.rs'), '// no imports\n');
    expect(findCycle(moduleGraph(dir) as Graph)).toBeNull();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
