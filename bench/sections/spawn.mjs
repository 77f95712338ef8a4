// Runs bench/child.mjs in a fresh node process and collects its JSON line.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { benchDir, now } from '../lib.mjs';

/**
 * Resolves with the child's result plus `processWallMs` (spawn to exit), or
 * `{ error }` when it failed. `progress`: pass its stderr through (its
 * per-cell progress lines).
 */
export function child(spec, { progress = false, env } = {}) {
  return new Promise((resolve) => {
    const t0 = now();
    const p = spawn(process.execPath, [join(benchDir, 'child.mjs'), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', progress ? 'inherit' : 'pipe'],
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    let out = ''; let err = '';
    p.stdout.on('data', (c) => { out += c; });
    p.stderr?.on('data', (c) => { err += c; });
    p.on('close', (code, signal) => {
      const wallMs = now() - t0;
      const line = out.trim().split('\n').pop();
      try {
        resolve({ ...JSON.parse(line), processWallMs: wallMs });
      } catch {
        resolve({ error: `child failed (${signal ?? `exit ${code}`}): ${(err || out).trim().split('\n').slice(-3).join(' | ')}`, processWallMs: wallMs });
      }
    });
  });
}
