// `mimobox run`: executes one WASI program in a sandbox and behaves like the
// program itself: its stdout and stderr go to ours, its exit code becomes
// ours. Everything mimobox says on its own goes to stderr, prefixed "mimobox:".
import { fstatSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SandboxError } from '../shared/errors.js';
import { createSandbox, type Backend } from '../factory.js';
import type { Sandbox, SandboxConfig, SandboxResult } from '../shared/types.js';
import { EXIT, exitCodeForError, exitCodeForResult, stopOf } from './exit-codes.js';
import { RUN_HELP } from './help.js';
import { write, type Io } from './io.js';
import { guestConfig, parseBackend, parseWholeUnits, SANDBOX_OPTIONS } from './parse.js';
import { parseOptions, usage, UsageError } from './usage.js';

const RUN_OPTIONS = {
  ...SANDBOX_OPTIONS,
  stdin: { type: 'string' },
  invoke: { type: 'string' },
  stack: { type: 'string' },
  'max-module': { type: 'string' },
  'trap-unknown-imports': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/**
 * The guest's stdin. The sandbox takes stdin as bytes up front, so reading ours means waiting
 * for its end: done for a shell pipe or a redirected file (`cmd | mimobox run`, `< file`), not
 * for a terminal, /dev/null or a socket (how Node's child_process connects stdio, often left
 * open), where waiting could hang. `--stdin -` reads ours in every case, `--stdin FILE` a file.
 */
async function readStdin(spec: string | undefined): Promise<Uint8Array> {
  if (spec !== undefined && spec !== '-') {
    try {
      return readFileSync(spec);
    } catch (e) {
      throw usage(`--stdin: cannot read ${spec}: ${(e as Error).message}`, 'run');
    }
  }
  if (spec === undefined && !stdinIsPipeOrFile()) return new Uint8Array(0);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function stdinIsPipeOrFile(): boolean {
  if (process.platform === 'win32') return !process.stdin.isTTY;
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isFile();
  } catch {
    return false; // no fd 0 at all
  }
}

function encodeOutput(buf: Buffer): { text: string; encoding: 'utf8' | 'base64' } {
  const text = buf.toString('utf8');
  return Buffer.from(text, 'utf8').equals(buf) ? { text, encoding: 'utf8' } : { text: buf.toString('base64'), encoding: 'base64' };
}

/** The SandboxResult as JSON, with stdout/stderr as text and the CLI's exit code added. */
export function resultToJson(result: SandboxResult, exitStatus: number): Record<string, unknown> {
  const out = encodeOutput(result.stdout);
  const err = encodeOutput(result.stderr);
  return {
    ...result,
    stdout: out.text,
    stdoutEncoding: out.encoding,
    stderr: err.text,
    stderrEncoding: err.encoding,
    exitStatus,
  };
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1]!.trim();
}

export async function runCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseOptions(() => parseArgs({ args, options: RUN_OPTIONS, allowPositionals: true, strict: true }), 'run');
  if (values.help) {
    await write(io.stdout, RUN_HELP);
    return 0;
  }
  if (positionals.length === 0) throw usage('run: missing FILE.wasm', 'run');

  let config: SandboxConfig;
  let backend: Backend;
  try {
    config = guestConfig(values);
    if (values.stack !== undefined) config.stackLimitKb = parseWholeUnits(values.stack, '--stack', 'K');
    if (values['max-module'] !== undefined) config.maxModuleMb = parseWholeUnits(values['max-module'], '--max-module', 'M');
    if (values['trap-unknown-imports']) config.unknownImports = 'trap';
    if (values.invoke !== undefined && values.invoke.length === 0) throw new UsageError('--invoke: expected an export name');
    backend = parseBackend(values.backend);
  } catch (e) {
    if (e instanceof UsageError) throw usage(e, 'run');
    throw e;
  }
  const stdin = await readStdin(values.stdin);

  let sandbox: Sandbox;
  try {
    sandbox = createSandbox(config, { backend });
  } catch (e) {
    return failWith(e, io, values.json === true);
  }

  const controller = new AbortController();
  let signalExit: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    signalExit = signal === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint;
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const entry = values.invoke !== undefined ? { entry: values.invoke } : {};
    const result = await sandbox.execute(positionals, { stdin, signal: controller.signal, ...entry });
    const status = exitCodeForResult(result);
    if (values.json) {
      await write(io.stdout, `${JSON.stringify(resultToJson(result, status), null, 2)}\n`);
      return status;
    }
    await Promise.all([write(io.stdout, result.stdout), write(io.stderr, result.stderr)]);
    const notes = notesFor(result, status);
    if (notes.length > 0) await write(io.stderr, notes.map((n) => `mimobox: ${n}\n`).join(''));
    return status;
  } catch (e) {
    if (signalExit !== undefined && e instanceof SandboxError && e.code === 'ABORTED') {
      await write(io.stderr, `mimobox: ${e.message}\n`);
      return signalExit;
    }
    return failWith(e, io, values.json === true);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await sandbox.destroy().catch(() => undefined);
  }
}

/** What mimobox says on stderr after the program's own output: warnings, and why it stopped. */
function notesFor(result: SandboxResult, status: number): string[] {
  const notes: string[] = result.warnings.map((w) => `warning: ${w}`);
  for (const [name, truncated, total] of [
    ['stdout', result.stdoutTruncated, result.stdoutBytes],
    ['stderr', result.stderrTruncated, result.stderrBytes],
  ] as const) {
    if (truncated) notes.push(`warning: ${name} was cut at the --max-output cap (the program wrote ${total} bytes)`);
  }
  switch (stopOf(result)) {
    case 'timeout':
      notes.push(`timed out: ${lastLine(result.error ?? 'time limit reached')}`);
      break;
    case 'memory':
      notes.push(`memory limit exceeded: ${lastLine(result.error ?? '').replace(/^memory limit( exceeded)?:\s*/i, '')}`);
      break;
    case 'trap':
      notes.push(`trap (${result.trap ?? result.limit}): ${lastLine(result.error ?? '')}`);
      break;
    case undefined:
      if (result.exitCode !== null && status !== result.exitCode) {
        notes.push(`the program exited with ${result.exitCode}, reported as ${status}`);
      }
  }
  return notes;
}

async function failWith(e: unknown, io: Io, json: boolean): Promise<number> {
  if (!(e instanceof SandboxError)) throw e;
  const status = exitCodeForError(e, 'program');
  if (json) {
    await write(io.stdout, `${JSON.stringify({ error: { code: e.code, message: e.message }, exitStatus: status }, null, 2)}\n`);
  }
  const hint = status === EXIT.usage ? "\nTry 'mimobox run --help'." : '';
  await write(io.stderr, `mimobox: ${e.message}${hint}\n`);
  return status;
}
