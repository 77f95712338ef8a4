// Runs a real guest through mimobox-wasm: `node examples/hello.mjs`
// (after `npm install`, which builds the addon and dist/).
import { fileURLToPath } from 'node:url';
import { createSandbox } from '../dist/esm/index.js';

const guest = (p) => fileURLToPath(new URL(`../test/guests/${p}`, import.meta.url));

const sandbox = createSandbox({ timeoutMs: 2000, memoryLimitMb: 32, maxOutputBytes: 64 * 1024 });
try {
  const hello = await sandbox.execute([guest('wat/hello.wasm')]);
  process.stdout.write(`[${hello.backend}] exit ${hello.exitCode}: ${hello.stdout}`);

  const echo = await sandbox.execute([guest('c/echo_stdin.wasm')], { stdin: 'stdin goes in, stdout comes out\n' });
  process.stdout.write(`echo: ${echo.stdout}`);

  const loop = await sandbox.execute([guest('wat/loop.wasm')]);
  console.log(`infinite loop: timedOut=${loop.timedOut} after ${Math.round(loop.elapsedMs)} ms (${loop.error})`);

  const bomb = await sandbox.execute([guest('c/memory_bomb.wasm')]);
  console.log(`memory bomb: exitCode=${bomb.exitCode} trap=${bomb.trap}`);
} finally {
  await sandbox.destroy();
}
