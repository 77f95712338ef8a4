// backend 'auto': when the native addon cannot load, the factory falls back to
// the pure-JS backend and says so in every result's warnings.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { wat } from './helpers.js';

const INDEX = fileURLToPath(new URL('../../dist/esm/index.js', import.meta.url));

describe('auto backend', () => {
  test('falls back to js with a one-line warning naming the failure', () => {
    const script = `
      const { createSandbox } = await import(${JSON.stringify(INDEX)});
      const sb = createSandbox({}, { backend: 'auto' });
      const r = await sb.execute([${JSON.stringify(wat('hello'))}]);
      await sb.destroy();
      console.log(JSON.stringify({ backend: r.backend, warnings: r.warnings, stdout: r.stdout.toString() }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, MIMOBOX_NATIVE_PATH: '/nonexistent/addon.node' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    const r = JSON.parse(out.trim().split('\n').pop() as string) as { backend: string; warnings: string[]; stdout: string };
    expect(r.backend).toBe('js');
    expect(r.stdout).toBe('hello, world\n');
    expect(r.warnings).toHaveLength(1);
    const w = r.warnings[0] as string;
    expect(w).not.toContain('\n');
    expect(w).toMatch(/native backend unavailable/);
    expect(w).toContain('/nonexistent/addon.node');
  });
});
