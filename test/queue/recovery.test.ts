// Nothing is lost: 300 mixed jobs over 3 worker processes, a worker killed
// with SIGKILL mid-run, and Redis itself killed and restarted mid-run. Each
// run is bounded (short guests, short lock durations) to stay well inside
// the test timeout on a busy 2-core machine.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createQueueClient, type ModuleRef, type QueueClient, type QueueResult } from '../../dist/esm/queue/index.js';
import { startRedis, type RedisServer } from './redis.js';
import { BACKEND, c, queueName, wat } from './setup.js';
import { startWorker, type WorkerProcess } from './workers.js';

let redis: RedisServer;
let workers: WorkerProcess[] = [];
let clients: QueueClient[] = [];

beforeAll(async () => {
  // Persistent: the restart test needs the queue to survive a SIGKILL of Redis.
  redis = await startRedis({ persist: true });
});
afterEach(async () => {
  await Promise.all(clients.map((cl) => cl.close()));
  await Promise.all(workers.map((w) => w.kill9()));
  clients = [];
  workers = [];
});
afterAll(async () => {
  await redis?.stop();
});

/** Short locks, so jobs of a dead worker are picked up in seconds rather than BullMQ's 30 s. */
const RECOVERY = { lockDurationMs: 2000, stalledIntervalMs: 1000 };
const SANDBOX = { timeoutMs: 5000, memoryLimitMb: 64 };

async function start(tag: string, count: number, concurrency: number) {
  const queue = queueName(tag);
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startWorker({ connection: redis.url, queue, concurrency, backend: BACKEND, sandbox: SANDBOX, name: `w${i}`, ...RECOVERY }),
    ),
  );
  workers.push(...started);
  const client = createQueueClient({ connection: redis.url, queue, pollIntervalMs: 1000 });
  clients.push(client);
  return { queue, workers: started, client };
}

const completedBy = (w: WorkerProcess) => w.messages.filter((m) => m.type === 'completed').map((m) => m.jobId!);

describe(`recovery (${BACKEND} workers)`, () => {
  test('3 workers, 300 jobs of hello, CPU-bound, timing-out and memory-bombing guests: every result correct, once', async () => {
    const { client, workers: ws } = await start('mix', 3, 4);
    const mods = Object.fromEntries(
      await Promise.all(
        (['hello', 'loop'] as const).map(async (n) => [n, await client.putModule(wat(n))] as const).concat(
          (['nbody', 'sha256sum', 'memory_bomb'] as const).map(async (n) => [n, await client.putModule(c(n))] as const),
        ),
      ),
    ) as Record<string, ModuleRef>;
    type Kind = 'hello' | 'nbody' | 'sha' | 'loop' | 'bomb';
    const kindOf = (i: number): Kind => (i % 30 === 7 ? 'loop' : i % 30 === 11 ? 'bomb' : i % 10 === 3 ? 'nbody' : i % 10 === 5 ? 'sha' : 'hello');
    const submit = (i: number) => {
      const k = kindOf(i);
      const jobId = `j${i}`;
      if (k === 'hello') return client.execute({ module: mods.hello! }, { jobId });
      if (k === 'nbody') return client.execute({ module: mods.nbody!, args: ['1000'] }, { jobId });
      if (k === 'sha') return client.execute({ module: mods.sha256sum!, args: ['1'] }, { jobId });
      if (k === 'loop') return client.execute({ module: mods.loop!, limits: { timeoutMs: 200 } }, { jobId });
      return client.execute({ module: mods.memory_bomb!, limits: { memoryLimitMb: 16 } }, { jobId });
    };
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => submit(i)));
    const check = (r: QueueResult, i: number) => {
      expect(r.jobId).toBe(`j${i}`);
      const k = kindOf(i);
      if (k === 'hello') expect(r.stdout.toString()).toBe('hello, world\n');
      if (k === 'nbody') expect(r.stdout.toString()).toBe('-0.169075164\n-0.169087605\n');
      if (k === 'sha') expect(r.stdout.toString()).toBe('7293cc1ed05355448c0ee1b1d51909d991635cab45a57f7d892c1f77fc4e54fe\n');
      if (k === 'loop') expect(r).toMatchObject({ timedOut: true, exitCode: null });
      if (k === 'bomb') expect(r).toMatchObject({ trap: 'memory', exitCode: 1 });
    };
    results.forEach(check);
    expect(await client.stats()).toMatchObject({ completed: 300, failed: 0, waiting: 0, active: 0 });
    // Present once: 300 completions in all, no job run twice, and every worker took some.
    await Promise.all(ws.map((w) => w.next(() => ws.reduce((n, x) => n + completedBy(x).length, 0) >= 300)));
    const ids = ws.flatMap(completedBy);
    expect(ids).toHaveLength(300);
    expect(new Set(ids).size).toBe(300);
    for (const w of ws) expect(completedBy(w).length).toBeGreaterThan(0);
    // Observability comes from BullMQ itself: the workers record per-minute metrics.
    expect((await client.bullQueue.getMetrics('completed')).meta.count).toBe(300);
  }, 120_000);

  test('kill -9 of a worker mid-run: its jobs are run again by another worker, all complete', async () => {
    const { client, workers: [victim, survivor] } = await start('kill', 2, 3);
    const sleep = await client.putModule(c('sleep'));
    const results = Promise.all(Array.from({ length: 18 }, (_, i) => client.execute({ module: sleep, args: ['1'] }, { jobId: `k${i}` })));
    // Kill the victim while it holds jobs it has not finished.
    await victim!.next((m) => m.type === 'active');
    await victim!.kill9();
    const orphaned = victim!.messages.filter((m) => m.type === 'active').map((m) => m.jobId!).filter((id) => !completedBy(victim!).includes(id));
    expect(orphaned.length).toBeGreaterThan(0);
    const all = await results;
    expect(all.map((r) => r.stdout.toString())).toEqual(Array(18).fill('slept\n'));
    await survivor!.next(() => orphaned.every((id) => completedBy(survivor!).includes(id)));
    expect(await client.stats()).toMatchObject({ completed: 18, failed: 0 });
  }, 90_000);

  test('Redis killed and restarted mid-run: workers and the client reconnect and every job completes', async () => {
    const { client, workers: ws } = await start('restart', 2, 3);
    const [sleep, hello] = await Promise.all([client.putModule(c('sleep')), client.putModule(wat('hello'))]);
    const results = Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 2 === 0 ? client.execute({ module: sleep, args: ['1'] }, { jobId: `r${i}` }) : client.execute({ module: hello }, { jobId: `r${i}` }),
      ),
    );
    // The slower worker's wait must not reject later, unobserved.
    await Promise.race(ws.map((w) => w.next((m) => m.type === 'completed').catch(() => new Promise<never>(() => undefined))));
    await redis.kill();
    await new Promise((r) => setTimeout(r, 1000));
    await redis.start();
    const all = await results;
    all.forEach((r, i) => expect(r.stdout.toString()).toBe(i % 2 === 0 ? 'slept\n' : 'hello, world\n'));
    expect(await client.stats()).toMatchObject({ completed: 30, failed: 0 });
  }, 90_000);
});
