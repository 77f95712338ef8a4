// `mimobox worker`: the CLI runs a queue worker until SIGTERM/SIGINT, then
// finishes its running jobs and exits 0. Against a real redis-server.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createQueueClient, QueueError, type QueueClient } from '../../dist/esm/queue/index.js';
import { startRedis, type RedisServer } from './redis.js';
import { BACKEND, c, queueName, ROOT, wat } from './setup.js';

const BIN = join(ROOT, 'bin', 'mimobox.js');
let redis: RedisServer;
const children = new Set<ChildProcess>();
const clients: QueueClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const ch of children) ch.kill('SIGKILL');
  await Promise.all(clients.map((cl) => cl.close()));
  await redis?.stop();
});

interface Cli {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
  waitFor(re: RegExp): Promise<void>;
}

function cli(args: string[]): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let err = '';
  const waiters = new Set<() => void>();
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters) w();
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => (children.delete(child), resolve(code))));
  return {
    child,
    stderr: () => err,
    exit,
    waitFor: (re) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (re.test(err)) {
            waiters.delete(check);
            resolve();
          }
        };
        void exit.then(() => reject(new Error(`mimobox worker exited before ${re}: ${err}`)));
        waiters.add(check);
        check();
      }),
  };
}

describe(`mimobox worker (${BACKEND})`, () => {
  test('runs jobs with its limits as the ceiling, and on SIGTERM finishes the running job and exits 0', async () => {
    const queue = queueName('cli');
    const w = cli(['worker', '--redis', redis.url, '--queue', queue, '--concurrency', '2', '--timeout', '5s', '--memory', '32M', '--backend', BACKEND]);
    await w.waitFor(/ready: queue /);
    const client = createQueueClient({ connection: redis.url, queue });
    clients.push(client);
    const [hello, sleep] = await Promise.all([client.putModule(wat('hello')), client.putModule(c('sleep'))]);
    expect((await client.execute({ module: hello })).stdout.toString()).toBe('hello, world\n');
    const over = await client.execute({ module: hello, limits: { memoryLimitMb: 64 } }).catch((e: QueueError) => e);
    expect(over).toMatchObject({ code: 'LIMIT_EXCEEDS_WORKER' });
    await w.waitFor(/failed: LIMIT_EXCEEDS_WORKER/);

    const running = client.execute({ module: sleep, args: ['1'] });
    while ((await client.stats()).active < 1) await new Promise((r) => setTimeout(r, 20));
    w.child.kill('SIGTERM');
    expect(await w.exit).toBe(0);
    expect(w.stderr()).toMatch(/SIGTERM: taking no new jobs, finishing 1 running job\(s\)/);
    expect((await running).stdout.toString()).toBe('slept\n');
    // It took no new job after the signal.
    const late = client.execute({ module: hello });
    await new Promise((r) => setTimeout(r, 300));
    expect(await client.stats()).toMatchObject({ waiting: 1, active: 0 });
    const again = cli(['worker', '--redis', redis.url, '--queue', queue, '--backend', BACKEND]);
    expect((await late).stdout.toString()).toBe('hello, world\n');
    again.child.kill('SIGINT');
    expect(await again.exit).toBe(0);
  }, 60_000);

  test.each([
    [['--concurrency', '0'], /--concurrency/],
    [['--redis', 'http://127.0.0.1:1'], /redis:\/\//],
    [['--queue', 'a:b'], /queue/],
    [['--memory', '1.5M'], /--memory/],
    [['--backend', 'gpu'], /--backend/],
    [['extra'], /Unexpected argument|positional/i],
  ])('usage error %j: exit 2', async (args, re) => {
    const w = cli(['worker', ...args]);
    expect(await w.exit).toBe(2);
    expect(w.stderr()).toMatch(re);
  });
});
