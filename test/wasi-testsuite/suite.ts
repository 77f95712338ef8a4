// The public wasi-testsuite (preview 1), run the way its upstream runner
// does (suite/README.md): X.wasm with the spec X.json when
// present; `args` after argv[0]; `env` is the whole environment; `root` is
// copied to a scratch directory and granted read-write as the guest's `/`;
// `exit_code` (default 0) and `stdout` (when given) are checked.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSandbox } from '../../dist/esm/index.js';
import type { BackendName } from '../conformance/backends.js';

/**
 * The suite is committed under test/wasi-testsuite/suite/ (upstream commit in
 * its README), so every clone and every release leg has it;
 * MIMOBOX_WASI_TESTSUITE points at another copy (a newer upstream build).
 */
export const SUITE_DIR = resolve(
  process.env.MIMOBOX_WASI_TESTSUITE ?? fileURLToPath(new URL('./suite', import.meta.url)),
);

export interface SuiteCase {
  /** e.g. "rust/path_open_preopen". */
  name: string;
  wasm: string;
  args: string[];
  env: Record<string, string>;
  root: string | undefined;
  exitCode: number;
  stdout: string | undefined;
}

interface Spec {
  args?: string[];
  env?: Record<string, string>;
  root?: string;
  exit_code?: number;
  stdout?: string;
}

export function suitePresent(): boolean {
  return existsSync(join(SUITE_DIR, 'tests'));
}

export function listCases(): SuiteCase[] {
  const out: SuiteCase[] = [];
  for (const lang of readdirSync(join(SUITE_DIR, 'tests')).sort()) {
    const dir = join(SUITE_DIR, 'tests', lang, 'testsuite', 'wasm32-wasip1');
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.wasm')) continue;
      const stem = basename(file, '.wasm');
      const specPath = join(dir, `${stem}.json`);
      const spec: Spec = existsSync(specPath) ? (JSON.parse(readFileSync(specPath, 'utf8')) as Spec) : {};
      out.push({
        name: `${lang}/${stem}`, wasm: join(dir, file), args: spec.args ?? [], env: spec.env ?? {},
        root: spec.root === undefined ? undefined : join(dir, spec.root), exitCode: spec.exit_code ?? 0,
        stdout: spec.stdout,
      });
    }
  }
  return out;
}

export interface CaseOutcome {
  pass: boolean;
  /** Why it failed, for the report. */
  detail: string;
}

export async function runCase(backend: BackendName, c: SuiteCase): Promise<CaseOutcome> {
  const scratch = mkdtempSync(join(tmpdir(), 'mimobox-wasi-testsuite-'));
  try {
    if (c.root) cpSync(c.root, scratch, { recursive: true, verbatimSymlinks: true });
    const sb = createSandbox({
      defaultEnv: false, env: c.env, timeoutMs: 20_000, memoryLimitMb: 256,
      ...(c.root ? { fsReadwrite: [{ host: scratch, guest: '/' }] } : {}),
    }, { backend });
    try {
      const r = await sb.execute([c.wasm, ...c.args]);
      const problems: string[] = [];
      if (r.exitCode !== c.exitCode) problems.push(`exit ${r.exitCode} (want ${c.exitCode})`);
      if (c.stdout !== undefined && r.stdout.toString() !== c.stdout) {
        problems.push(`stdout ${JSON.stringify(r.stdout.toString().slice(0, 200))} (want ${JSON.stringify(c.stdout)})`);
      }
      if (problems.length > 0) {
        const why = [r.error, r.stderr.toString().trim().split('\n').slice(-3).join(' | ')].filter(Boolean).join(' | ');
        return { pass: false, detail: `${problems.join(', ')}${why ? `: ${why.slice(0, 400)}` : ''}` };
      }
      return { pass: true, detail: '' };
    } finally {
      await sb.destroy();
    }
  } catch (e) {
    return { pass: false, detail: `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
