#!/usr/bin/env node
// The `mimobox` command: a shim over the compiled CLI (src-ts/cli/main.ts).
// Imported dynamically so that a Node.js below the package's floor gets one
// readable line (shared/node-floor.ts), not a stack trace.
let main;
try {
  ({ main } = await import('../dist/esm/cli/main.js'));
} catch (e) {
  if (e?.code !== 'NODE_UNSUPPORTED') throw e;
  process.stderr.write(`mimobox: ${e.message}\n`);
  process.exit(125);
}

const code = await main(process.argv.slice(2));
// Exit explicitly: output was flushed by main(), and nothing else should keep
// the process alive (a native runtime thread, a stray worker).
process.exit(code);
