// A long-lived host's memory stays flat on the JS backend: thousands of
// sequential executes do not grow RSS. Measured in a child process started
// with --expose-gc (so both the host's and, through the worker's own
// collections, the guest thread's garbage is gone when RSS is read).
import { spawnSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { wat } from '../conformance/helpers.js';

const INDEX = new URL('../../dist/esm/index.js', import.meta.url).href;

test('5,000 sequential executes grow RSS by less than 16 MiB', () => {
  // The first 5,000 are a warm-up: in them V8 sizes the host's own young
  // generation (16 -> 32 MiB of new space on the 2-core machine, whatever the
  // host runs) and the worker's heap reaches its working size; RSS grows by
  // ~30 MiB there and then stops. The next 5,000 must not add 16 MiB: a leak
  // of 3.3 KB per execute would. Measured: +1 to +6 MiB.
  const script = `
    import { JsSandbox } from ${JSON.stringify(INDEX)};
    import { getHeapSpaceStatistics } from 'node:v8';
    const sb = new JsSandbox({ maxConcurrency: 1 });
    const settle = async () => { for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 50)); } };
    const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const run = async (n) => { for (let i = 0; i < n; i++) {
      const r = await sb.execute([${JSON.stringify(wat('hello'))}]);
      if (r.exitCode !== 0) throw new Error('execute failed: ' + r.error);
    } };
    await run(5000);
    await settle();
    const before = { rss: process.memoryUsage().rss, newSpace: newSpace() };
    await run(5000);
    await settle();
    console.log(JSON.stringify({ grownMb: (process.memoryUsage().rss - before.rss) / 1048576, newSpaceGrownMb: (newSpace() - before.newSpace) / 1048576 }));
    await sb.destroy();
  `;
  const out = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 240_000 });
  expect(out.status, out.stderr).toBe(0);
  const { grownMb, newSpaceGrownMb } = JSON.parse(out.stdout.trim()) as { grownMb: number; newSpaceGrownMb: number };
  console.log(`JS backend, 5,000 sequential executes after a 5,000 warm-up: RSS +${grownMb.toFixed(1)} MiB (host new space +${newSpaceGrownMb.toFixed(1)} MiB)`);
  expect(grownMb).toBeLessThan(16);
}, 250_000);
