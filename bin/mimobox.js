#!/usr/bin/env node
// The `mimobox` command: a shim over the compiled CLI (src-ts/cli/main.ts).
import { main } from '../dist/esm/cli/main.js';

const code = await main(process.argv.slice(2));
// Exit explicitly: output was flushed by main(), and nothing else should keep
// the process alive (a native runtime thread, a stray worker).
process.exit(code);
