// `mimobox bench`: runs the benchmark harness (bench/run.mjs) of a source
// checkout as a child process, forwarding our signals to it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../native/addon.js';
import { EXIT } from './exit-codes.js';
import { BENCH_HELP } from './help.js';
import { write, type Io } from './io.js';

export async function benchCommand(args: string[], io: Io): Promise<number> {
  if (args[0] === '-h' || args[0] === '--help') {
    await write(io.stdout, BENCH_HELP);
    return 0;
  }
  const forwarded = args[0] === '--' ? args.slice(1) : args;
  const script = join(packageRoot(), 'bench', 'run.mjs');
  if (!existsSync(script)) {
    await write(
      io.stderr,
      `mimobox: bench: no benchmark harness in this installation: ${script} does not exist ` +
        '(the harness is part of the source repository, not of the published package)\n',
    );
    return EXIT.usage;
  }
  return await new Promise<number>((done) => {
    const child = spawn(process.execPath, [script, ...forwarded], { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const finish = (code: number) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      done(code);
    };
    child.on('error', (e) => {
      void write(io.stderr, `mimobox: bench: cannot start ${script}: ${e.message}\n`).then(() => finish(EXIT.internal));
    });
    child.on('exit', (code, signal) => finish(code ?? (signal === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint)));
  });
}
