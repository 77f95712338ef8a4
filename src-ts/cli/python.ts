// `mimobox python`: a REPL on a Python session. Each line, or each block (a
// line ending in ':' or inside open brackets, up to a blank line), is one
// turn; globals carry over; a final expression is echoed. Loaded only when
// the command runs.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SandboxError } from '../shared/errors.js';
import type { PythonOptions, PythonSession } from '../python/index.js';
import { EXIT, exitCodeForError } from './exit-codes.js';
import { PYTHON_HELP } from './help.js';
import type { Io } from './io.js';
import { GUEST_OPTIONS, guestConfig } from './parse.js';
import { UsageError } from './usage.js';

const OPTIONS = {
  ...GUEST_OPTIONS,
  home: { type: 'string' },
  plain: { type: 'boolean' },
} as const;

function options(args: string[]): { config: PythonOptions; fuel: number | undefined; timeoutMs: number | undefined } | 'help' {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}: code is read from stdin`);
  // --timeout and --fuel bound each turn, not the session.
  const { timeoutMs, fuel, ...config }: PythonOptions = guestConfig(values);
  if (values.home !== undefined) config.home = values.home;
  if (values.plain) config.snapshot = false;
  if (fuel === null) throw new UsageError('--fuel: give a number (a session turn has no "off")');
  return { config, fuel, timeoutMs };
}

/** Whether `text` is an unfinished block: it opened one, or brackets are still open. */
export function needsMore(text: string): boolean {
  const lines = text.split('\n');
  if (lines.length > 1) return lines[lines.length - 1]!.trim() !== '';
  const line = lines[0]!.trimEnd();
  if (line.endsWith(':') || line.endsWith('\\') || line.startsWith('@')) return true;
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote !== undefined) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '#') break;
    else if (ch === '"' || ch === "'") quote = ch;
    else if ('([{'.includes(ch)) depth++;
    else if (')]}'.includes(ch)) depth--;
  }
  return depth > 0;
}

export async function pythonCommand(args: string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof options>;
  try {
    parsed = options(args);
  } catch (e) {
    io.stderr.write(`mimobox python: ${(e as Error).message}\nTry 'mimobox python --help'.\n`);
    return EXIT.usage;
  }
  if (parsed === 'help') {
    io.stdout.write(PYTHON_HELP);
    return 0;
  }
  const { createPython } = await import('../python/index.js');
  const { config, fuel, timeoutMs } = parsed;
  let runner;
  try {
    runner = await createPython(config);
  } catch (e) {
    io.stderr.write(`mimobox python: ${e instanceof SandboxError ? `${e.code}: ` : ''}${(e as Error).message}\n`);
    return exitCodeForError(e);
  }
  const stdin = io.stdin ?? process.stdin;
  const interactive = (stdin as { isTTY?: boolean }).isTTY === true;
  let session: PythonSession = await runner.openSession();
  let status = 0;
  const lines = createInterface({ input: stdin, ...(interactive ? { output: io.stdout, terminal: true } : {}) });
  let running: AbortController | undefined;
  lines.on('SIGINT', () => {
    if (running !== undefined) running.abort(new Error('interrupted'));
    else io.stdout.write('\nKeyboardInterrupt\n');
  });
  const prompt = (more: boolean) => {
    if (interactive) {
      lines.setPrompt(more ? '... ' : '>>> ');
      lines.prompt();
    }
  };
  let block = '';
  let quit = false;
  /** Runs one turn; true when the guest asked to leave. */
  const turn = async (code: string): Promise<boolean> => {
    running = new AbortController();
    try {
      const r = await session.run(code, { signal: running.signal, ...(fuel ? { fuel } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
      io.stdout.write(r.stdout);
      io.stderr.write(r.stderr);
      if (r.quit) {
        status = r.exitCode ?? 0;
        return true;
      }
      if (r.sessionEnded !== undefined) {
        io.stderr.write(`mimobox python: the turn ended the session (${r.error ?? r.sessionEnded}); starting a new one\n`);
        session = await runner.openSession();
      }
    } catch (e) {
      io.stderr.write(`mimobox python: ${(e as Error).message}; starting a new session\n`);
      session = await runner.openSession();
    } finally {
      running = undefined;
    }
    return false;
  };
  prompt(false);
  try {
    for await (const line of lines) {
      block = block === '' ? line : `${block}\n${line}`;
      if (needsMore(block)) {
        prompt(true);
        continue;
      }
      const code = block;
      block = '';
      if (code.trim() !== '' && (await turn(code))) {
        quit = true;
        break;
      }
      prompt(false);
    }
    // Input ended inside a block: it is complete now.
    if (!quit && block.trim() !== '') await turn(block);
  } finally {
    lines.close();
    await session.close().catch(() => undefined);
    await runner.destroy();
  }
  return status;
}
