// Shared helpers for the conformance suite: guest paths, sandboxes per
// backend, temp directories.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSandbox, type Sandbox, type SandboxConfig, type SandboxResult } from '../../dist/esm/index.js';
import type { BackendName } from './backends.js';

export const GUESTS = fileURLToPath(new URL('../guests/', import.meta.url));
export const wat = (name: string): string => join(GUESTS, 'wat', `${name}.wasm`);
export const c = (name: string): string => join(GUESTS, 'c', `${name}.wasm`);

export function sandbox(backend: BackendName, config: SandboxConfig = {}): Sandbox {
  return createSandbox(config, { backend });
}

/** Runs one execute on a fresh sandbox and destroys it. */
export async function runOnce(
  backend: BackendName,
  cmd: string[],
  config: SandboxConfig = {},
  opts: Parameters<Sandbox['execute']>[1] = {},
): Promise<SandboxResult> {
  const sb = sandbox(backend, config);
  try {
    return await sb.execute(cmd, opts);
  } finally {
    await sb.destroy();
  }
}

export function tempDir(): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), 'mimobox-test-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** byte k of an output_flood stream is 'a' + k % 26. */
export function floodPattern(length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = 97 + (i % 26);
  return b;
}

/** The fields the contract says must be identical across backends. */
export const COMPARED_FIELDS = [
  'exitCode', 'stdout', 'stderr', 'timedOut', 'trap', 'limit', 'stdoutTruncated', 'stderrTruncated',
  'stdoutBytes', 'stderrBytes',
] as const;
export type ComparedField = (typeof COMPARED_FIELDS)[number];

export function comparable(r: SandboxResult, skip: readonly ComparedField[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of COMPARED_FIELDS) {
    if (skip.includes(f)) continue;
    const v = r[f];
    out[f] = Buffer.isBuffer(v) ? v.toString('latin1') : v;
  }
  return out;
}
