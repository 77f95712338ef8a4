// The `mimobox` command line (bin/mimobox.js runs main()): dispatches to one
// module per command. Commands that load heavy things (BullMQ for the worker,
// the Python helper) are imported only when they run, so `mimobox run` stays
// quick to start.
import '../shared/node-floor.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../native/addon.js';
import { EXIT, exitCodeForError } from './exit-codes.js';
import { helpFor, MAIN_HELP } from './help.js';
import { write, type Io } from './io.js';
import { usage, UsageError } from './usage.js';

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Runs the CLI; resolves with the process exit code. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case 'run':
        return await (await import('./run.js')).runCommand(rest, io);
      case 'bench':
        return await (await import('./bench.js')).benchCommand(rest, io);
      case 'cache':
        return await (await import('./cache.js')).cacheCommand(rest, io);
      case 'worker':
        return await (await import('./worker.js')).workerCommand(rest, io);
      case 'python':
        return await (await import('./python.js')).pythonCommand(rest, io);
      case 'help': {
        const topic = rest[0];
        const text = topic === undefined ? MAIN_HELP : helpFor(topic);
        if (text === undefined) throw usage(`unknown command ${JSON.stringify(topic)}`);
        await write(io.stdout, text);
        return 0;
      }
      case '-h':
      case '--help':
        await write(io.stdout, MAIN_HELP);
        return 0;
      case '-v':
      case '--version':
        await write(io.stdout, `${version()}\n`);
        return 0;
      case undefined:
        await write(io.stderr, MAIN_HELP);
        return EXIT.usage;
      default:
        throw usage(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    const status = exitCodeForError(e);
    // Usage errors are the user's to fix: the message and where to read help. mimobox's
    // own failures (125) print the stack, for a bug report.
    const detail = e instanceof UsageError ? e.withHint()
      : status === EXIT.internal ? ((e as Error)?.stack ?? String(e)) : (e as Error).message;
    await write(io.stderr, `mimobox: ${detail}\n`);
    return status;
  }
}
