// A real redis-server for the queue tests: loopback only, a free port, a
// temp dir, stopped after the tests and on process exit. No mocks.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HAVE_REDIS = spawnSync('redis-server', ['--version']).status === 0;

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Starts it again after kill(), on the same port and dir (with persistence: same data). */
  start(): Promise<void>;
  /** SIGKILL: the server is gone at once, as in a crash. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * `persist`: an append-only file fsynced on every write, so a SIGKILLed server comes back
 * with every acknowledged write: BullMQ's whole state (waiting jobs, locks, results, the
 * event stream) lives in Redis, and a restart without it would lose the queue.
 */
export async function startRedis(options: { persist?: boolean } = {}): Promise<RedisServer> {
  if (!HAVE_REDIS) throw new Error('redis-server is not on PATH: the queue tests need a real Redis (apt-get install redis-server)');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mimobox-redis-'));
  const args = [
    '--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '',
    '--appendonly', options.persist ? 'yes' : 'no', '--appendfsync', 'always',
    '--protected-mode', 'yes', '--daemonize', 'no', '--maxmemory-policy', 'noeviction',
  ];
  let child: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const c = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      running.add(c);
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.on('exit', () => {
        running.delete(c);
        clearTimeout(timer);
        reject(new Error(`redis-server exited: ${out}`));
      });
    });
  const waitExit = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const c = child;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    kill: () => waitExit('SIGKILL'),
    async stop() {
      await waitExit('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
