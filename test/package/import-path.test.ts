// The ESM build's import path (scripts/bundle-esm.mjs): `import('mimobox-wasm')`
// loads three files, and every module still exists once, whichever path it is
// reached by (the package entry, a deep path, another entry).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import * as pkg from '../../dist/esm/index.js';
import * as errors from '../../dist/esm/shared/errors.js';
import * as budget from '../../dist/esm/memory-budget.js';
import * as sharedBudget from '../../dist/esm/shared/memory-budget.js';
import { moduleUrl } from '../../dist/esm/module-url.js';
import * as python from '../../dist/esm/python/index.js';
// @ts-expect-error: a build script, plain JavaScript without types
import { staticGraph } from '../../scripts/bundle-esm.mjs';

const dist = (rel: string) => fileURLToPath(new URL(`../../dist/esm/${rel}`, import.meta.url));

describe('the ESM import path', () => {
  const graph = (entry: string) => [...(staticGraph(dist(entry)) as Set<string>)].map((f) => f.slice(dist('').length)).sort();

  test('import("mimobox-wasm") loads the entry and two chunks', () => {
    const files = graph('index.js');
    expect(files).toHaveLength(3);
    expect(files).toContain('index.js');
    expect(files.filter((f) => /^import-path-shared-[\w-]+\.js$/.test(f))).toHaveLength(1);
    expect(files.filter((f) => /^import-path-(?!shared-)[\w-]+\.js$/.test(f))).toHaveLength(1);
  });

  test('a JS-backend worker thread loads only the small shared chunk of them', () => {
    for (const worker of ['js-backend/threads/worker.js', 'js-backend/threads/session-worker.js']) {
      const chunks = graph(worker).filter((f) => f.startsWith('import-path'));
      expect(chunks).toHaveLength(1);
      expect(chunks[0]).toMatch(/^import-path-shared-/);
    }
  });

  test('a module reached by a deep path is the same module the entry exports', () => {
    expect(errors.ConfigError).toBe(pkg.ConfigError);
    expect(errors.SandboxError).toBe(pkg.SandboxError);
    expect(budget.setProcessMemoryBudget).toBe(pkg.setProcessMemoryBudget);
    // The budget counter reached by a deep path is the one the entry's setter moves.
    const before = sharedBudget.memoryBudgetStats().budgetBytes;
    pkg.setProcessMemoryBudget(4321);
    expect(sharedBudget.memoryBudgetStats().budgetBytes).toBe(4321 * 1024 * 1024);
    pkg.setProcessMemoryBudget(before / (1024 * 1024));
    const config = () => pkg.createSandbox({ timeoutMs: -1 }, { backend: 'js' });
    expect(config).toThrow(errors.ConfigError);
  });

  test('another entry shares it too: mimobox-wasm/python throws the same classes', async () => {
    await expect(python.openPythonSession(null as never)).rejects.toBeInstanceOf(pkg.ConfigError);
  });

  test('the URLs resolved from the chunk still find the worker scripts', () => {
    expect(fileURLToPath(new URL('.', moduleUrl))).toBe(dist(''));
    expect(existsSync(fileURLToPath(new URL('js-backend/threads/worker.js', moduleUrl)))).toBe(true);
    expect(existsSync(fileURLToPath(new URL('js-backend/threads/session-worker.js', moduleUrl)))).toBe(true);
  });
});
