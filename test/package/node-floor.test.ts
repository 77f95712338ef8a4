// Below Node.js 20.16 (no process.getBuiltinModule) every entry refuses with
// one typed error, NODE_UNSUPPORTED, never a bare TypeError from whichever
// module a bundled chunk happens to run first. Simulated here by removing
// the function before the import; scripts/node-matrix.sh checks a real Node
// 20.15.1 from the npm registry.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WITHOUT = 'delete process.getBuiltinModule;';

describe('the Node.js floor', () => {
  test.each(['dist/esm/index.js', 'dist/esm/python/index.js', 'dist/esm/queue/index.js', 'dist/esm/cli/main.js'])(
    'import %s without process.getBuiltinModule: NODE_UNSUPPORTED',
    (entry) => {
      const out = execFileSync(
        process.execPath,
        ['-e', `${WITHOUT} import(${JSON.stringify(join(ROOT, entry))}).then(() => console.log('LOADED'), (e) => console.log(e.code + ': ' + e.message))`],
        { encoding: 'utf8' },
      );
      expect(out.trim()).toMatch(/^NODE_UNSUPPORTED: mimobox-wasm needs Node\.js 20\.16\.0 or later .*: upgrade Node\.js$/);
    },
  );

  test('require() of the CommonJS build: the same error', () => {
    const out = execFileSync(
      process.execPath,
      ['-e', `${WITHOUT} try { require(${JSON.stringify(join(ROOT, 'dist/cjs/index.js'))}); console.log('LOADED') } catch (e) { console.log(e.code) }`],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe('NODE_UNSUPPORTED');
  });

  test('the CLI says it in one line and exits 125', () => {
    const r = spawnSync(process.execPath, ['--import', 'data:text/javascript,delete process.getBuiltinModule', join(ROOT, 'bin/mimobox.js'), '--help'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^mimobox: mimobox-wasm needs Node\.js 20\.16\.0 or later/)]);
  });

  test('no module calls process.getBuiltinModule itself: all go through shared/node-floor.ts builtin()', () => {
    const dir = join(ROOT, 'src-ts');
    const offenders = readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => join(e.parentPath, e.name))
      .filter((f) => !f.endsWith('node-floor.ts') && /process\.getBuiltinModule\(/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });
});
