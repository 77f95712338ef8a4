// `npm run test:rust`: cargo test for the core, for the host's own target
// triple named explicitly, as `napi build --platform` names it: cargo then
// builds into the same target/<triple>/ directory and reuses the addon
// build's compiled wasmtime instead of compiling it a second time (a cold
// CI run saves ~10 minutes). Extra arguments go to cargo test.
import { execFileSync, spawnSync } from 'node:child_process';

const host = /^host: (\S+)$/m.exec(execFileSync('rustc', ['-vV'], { encoding: 'utf8' }))?.[1];
if (!host) {
  console.error('test-rust: cannot tell the host target from `rustc -vV`');
  process.exit(2);
}
const args = ['test', '--release', '--no-default-features', '--target', host, ...process.argv.slice(2)];
const r = spawnSync('cargo', args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
