// The engine for default settings is built on a thread of its own while the
// addon loads (a cold start's largest part overlaps the rest), and the first
// sandbox with default settings takes it. Each case runs in a fresh process:
// the prebuild happens once per process. This fails if the TypeScript
// defaults drift from the core's, since the default sandbox would then build
// an engine of its own and leave the prebuilt one waiting.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const entry = new URL('../../dist/esm/index.js', import.meta.url).href;
const addon = new URL('../../dist/esm/native/addon.js', import.meta.url).href;
const hello = fileURLToPath(new URL('../guests/wat/hello.wasm', import.meta.url));

interface Seen { before: string; after: string; exitCode: number | null; stdout: string }

function inFreshProcess(config: Record<string, unknown>): Seen {
  const script = `
    const { createSandbox } = await import(${JSON.stringify(entry)});
    const { loadNativeBinding } = await import(${JSON.stringify(addon)});
    const before = loadNativeBinding().nativeInfo().prebuiltEngine;
    const sb = createSandbox(${JSON.stringify(config)}, { backend: 'native' });
    const r = await sb.execute([${JSON.stringify(hello)}]);
    const after = loadNativeBinding().nativeInfo().prebuiltEngine;
    await sb.destroy();
    console.log(JSON.stringify({ before, after, exitCode: r.exitCode, stdout: r.stdout.toString() }));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as Seen;
}

describe('the default engine is built while the addon loads', () => {
  test('a sandbox with default settings takes it', () => {
    const seen = inFreshProcess({ cache: false });
    expect(['building', 'ready']).toContain(seen.before);
    expect(seen).toMatchObject({ after: 'claimed', exitCode: 0, stdout: 'hello, world\n' });
  });

  test.each([
    ['an exact fuel budget', { fuel: 1_000_000 }],
    ['another stack limit', { stackLimitKb: 1024 }],
    ['no pool', { pool: false }],
    ['another pool size', { pool: { maxInstances: 16 } }],
  ])('a sandbox with %s builds its own and leaves it', (_what, config) => {
    const seen = inFreshProcess({ cache: false, ...config });
    expect(seen).toMatchObject({ exitCode: 0, stdout: 'hello, world\n' });
    expect(['building', 'ready']).toContain(seen.after);
  });
});
