// mimobox-wasm/queue against a real redis-server, with workers in separate
// processes: results and their Buffers, guest outcomes as results, limits the
// worker grants, hostile payloads, idempotent job ids, the JS backend, and
// worker.close() finishing running jobs and taking no new ones.
import { readFileSync } from 'node:fs';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createQueueClient, QueueError, type QueueClient } from '../../dist/esm/queue/index.js';
import { moduleKey } from '../../dist/esm/queue/modules.js';
import { startRedis, type RedisServer } from './redis.js';
import { BACKEND, c, queueName, wat } from './setup.js';
import { startWorker, type WorkerProcess } from './workers.js';

let redis: RedisServer;
const clients: QueueClient[] = [];
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(clients.map((cl) => cl.close()));
  await Promise.all(workers.map((w) => w.kill9()));
  await redis?.stop();
});

const SANDBOX = { timeoutMs: 5000, memoryLimitMb: 64 };

async function setup(tag: string, workerOptions: Record<string, unknown> = {}) {
  const queue = queueName(tag);
  const worker = await startWorker({ connection: redis.url, queue, concurrency: 2, backend: BACKEND, sandbox: SANDBOX, ...workerOptions });
  workers.push(worker);
  const client = createQueueClient({ connection: redis.url, queue });
  clients.push(client);
  return { queue, worker, client };
}

async function rejection(p: Promise<unknown>): Promise<QueueError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(QueueError);
    return e as QueueError;
  }
  throw new Error('expected the execute to fail');
}

// Generous: each test takes a few seconds, but the machine may be busy with other suites.
describe(`queue (${BACKEND} workers)`, { timeout: 60_000 }, () => {
  test('a job runs on a worker process and returns the SandboxResult with Buffers', async () => {
    const { client } = await setup('basic');
    const hello = await client.putModule(wat('hello'));
    const r = await client.execute({ module: hello });
    expect(r.stdout).toBeInstanceOf(Buffer);
    expect(r.stdout.toString()).toBe('hello, world\n');
    expect(r).toMatchObject({ exitCode: 0, timedOut: false, backend: BACKEND, stdoutBytes: 13 });
    expect(typeof r.jobId).toBe('string');

    const argsEnv = await client.putModule(readFileSync(c('args_env')));
    const a = await client.execute({ module: argsEnv, args: ['one', 'two words'], env: { K: 'v' } });
    expect(a.stdout.toString()).toContain('argv[1]=one\nargv[2]=two words\n');
    expect(a.stdout.toString()).toContain('env:K=v\n');

    const echo = await client.putModule(c('echo_stdin'));
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256));
    const e = await client.execute({ module: echo, stdin: bytes });
    expect(e.stdout.equals(bytes)).toBe(true);
  });

  test('putModule is content-addressed: the same bytes are one entry, stored once', async () => {
    const { client, queue } = await setup('modules');
    const a = await client.putModule(wat('hello'));
    const b = await client.putModule(readFileSync(wat('hello')));
    expect(b).toEqual(a);
    const redisClient = await client.bullQueue.client;
    const key = moduleKey('bull', queue, a.sha256);
    // Mark the entry: a second put must find it and not write it again.
    await redisClient.hset(key, { size: 'marker' });
    await client.putModule(wat('hello'));
    expect(await redisClient.hget(key, 'size')).toBe('marker');
    expect((await rejection(client.putModule(Buffer.from('not wasm at all')))).code).toBe('MODULE_INVALID');
  });

  test('a worker fetches a module from Redis once, then runs its own verified copy', async () => {
    const { client, queue, worker } = await setup('fetch-once');
    const hello = await client.putModule(wat('hello'));
    expect((await client.execute({ module: hello })).exitCode).toBe(0);
    // Gone from Redis: the worker that already has it does not need it again.
    await (await client.bullQueue.client).del(moduleKey('bull', queue, hello.sha256));
    expect((await client.execute({ module: hello })).stdout.toString()).toBe('hello, world\n');
    // A new worker in its place never fetched it, and cannot run it.
    expect(await worker.close()).toBe(0);
    workers.push(await startWorker({ connection: redis.url, queue, backend: BACKEND, sandbox: SANDBOX }));
    expect((await rejection(client.execute({ module: hello }))).code).toBe('MODULE_UNKNOWN');
  });

  test('guest timeouts, traps and memory limits are results, not failed jobs', async () => {
    const { client } = await setup('outcomes');
    const [loop, bomb, unreachable, exitCode] = await Promise.all([
      client.putModule(wat('loop')), client.putModule(c('memory_bomb')), client.putModule(wat('unreachable')), client.putModule(c('exit_code')),
    ]);
    const [t, m, u, x] = await Promise.all([
      client.execute({ module: loop, limits: { timeoutMs: 300 } }),
      client.execute({ module: bomb, limits: { memoryLimitMb: 16 } }),
      client.execute({ module: unreachable }),
      client.execute({ module: exitCode, args: ['3'] }),
    ]);
    expect(t).toMatchObject({ timedOut: true, exitCode: null });
    expect(m).toMatchObject({ trap: 'memory', exitCode: 1 });
    expect(u).toMatchObject({ trap: 'unreachable' });
    expect(x).toMatchObject({ exitCode: 3, timedOut: false });
    expect((await client.stats()).failed).toBe(0);
  });

  test('a job may ask for less than its worker grants, never more: LIMIT_EXCEEDS_WORKER', async () => {
    const { client } = await setup('limits');
    const bomb = await client.putModule(c('memory_bomb'));
    const more = await rejection(client.execute({ module: bomb, limits: { memoryLimitMb: 128 } }));
    expect(more.code).toBe('LIMIT_EXCEEDS_WORKER');
    expect(more.message).toMatch(/memoryLimitMb.*128 MiB.*64 MiB/);
    expect((await rejection(client.execute({ module: bomb, limits: { timeoutMs: 60_000 } }))).code).toBe('LIMIT_EXCEEDS_WORKER');
    // Less is granted and holds: the bomb stops at 8 MiB, not at the worker's 64.
    const less = await client.execute({ module: bomb, limits: { memoryLimitMb: 8 } });
    expect(less.trap).toBe('memory');
    expect((await client.stats()).failed).toBe(2);
  });

  test('malformed and hostile payloads fail with typed codes, and the worker keeps going', async () => {
    const { client, queue, worker } = await setup('hostile');
    const hello = await client.putModule(wat('hello'));
    const raw = new Queue(queue, { connection: { host: '127.0.0.1', port: redis.port } });
    const events = new QueueEvents(queue, { connection: { host: '127.0.0.1', port: redis.port } });
    await events.waitUntilReady();
    const redisClient = await raw.client;
    // A module whose stored bytes are not the ones its name hashes to.
    const forged = 'b'.repeat(64);
    await redisClient.hset(moduleKey('bull', queue, forged), { wasm: readFileSync(wat('hello')).toString('base64'), size: 185 });
    // Bytes that do hash to their name but are not a module.
    const { createHash } = await import('node:crypto');
    const junk = Buffer.from('\0asm but then garbage');
    const junkSha = createHash('sha256').update(junk).digest('hex');
    await redisClient.hset(moduleKey('bull', queue, junkSha), { wasm: junk.toString('base64'), size: junk.length });

    const base = { v: 1, module: hello.sha256, args: [], stdin: '', env: {}, limits: {} };
    const cases: [string, unknown, string][] = [
      ['not an object', 'rm -rf /', 'PAYLOAD_INVALID'],
      ['args of the wrong type', { ...base, args: { 0: 'a' } }, 'PAYLOAD_INVALID'],
      ['a number as env value', { ...base, env: { K: 1 } }, 'PAYLOAD_INVALID'],
      ['a grant in the payload', { ...base, fsReadwrite: ['/'] }, 'PAYLOAD_INVALID'],
      ['huge args', { ...base, args: Array(5000).fill('x') }, 'PAYLOAD_TOO_LARGE'],
      ['a 2 MiB argument', { ...base, args: ['y'.repeat(2 * 1024 * 1024)] }, 'PAYLOAD_TOO_LARGE'],
      ['stdin over the limit', { ...base, stdin: Buffer.alloc(17 * 1024 * 1024).toString('base64') }, 'PAYLOAD_TOO_LARGE'],
      ['an unknown module hash', { ...base, module: 'c'.repeat(64) }, 'MODULE_UNKNOWN'],
      ['bytes not matching the hash', { ...base, module: forged }, 'MODULE_HASH_MISMATCH'],
      ['bytes that are not a module', { ...base, module: junkSha }, 'MODULE_INVALID'],
      ['more memory than granted', { ...base, limits: { memoryLimitMb: 4096 } }, 'LIMIT_EXCEEDS_WORKER'],
    ];
    try {
      for (const [what, data, code] of cases) {
        // attempts: 3 as the client sends: a typed failure must not be retried.
        const job = await raw.add('execute', data, { attempts: 3 });
        const reason = await job.waitUntilFinished(events, 20_000).then(
          () => 'completed',
          (e: Error) => e.message,
        );
        expect(reason, what).toMatch(new RegExp(`^${code}: `));
        expect((await raw.getJob(job.id!))!.attemptsMade, what).toBe(1);
      }
      expect(worker.child.exitCode).toBe(null);
      const after = await client.execute({ module: hello });
      expect(after.stdout.toString()).toBe('hello, world\n');
    } finally {
      await events.close();
      await raw.close();
    }
  });

  test('a repeated jobId returns the first submission\'s result without running again', async () => {
    const { client, worker } = await setup('idempotent');
    const argsEnv = await client.putModule(c('args_env'));
    const first = await client.execute({ module: argsEnv, args: ['first'] }, { jobId: 'order-42' });
    await worker.next((m) => m.type === 'completed' && m.jobId === 'order-42');
    const again = await client.execute({ module: argsEnv, args: ['second'] }, { jobId: 'order-42' });
    expect(first.jobId).toBe('order-42');
    expect(again.stdout.toString()).toContain('argv[1]=first\n');
    expect(again.stdout.equals(first.stdout)).toBe(true);
    expect(worker.messages.filter((m) => m.type === 'completed' && m.jobId === 'order-42')).toHaveLength(1);
    // A failed job's id returns its failure the same way.
    const bomb = await client.putModule(c('memory_bomb'));
    expect((await rejection(client.execute({ module: bomb, limits: { memoryLimitMb: 999 } }, { jobId: 'bad-1' }))).code).toBe('LIMIT_EXCEEDS_WORKER');
    const repeated = await rejection(client.execute({ module: bomb }, { jobId: 'bad-1' }));
    expect(repeated).toMatchObject({ code: 'LIMIT_EXCEEDS_WORKER', jobId: 'bad-1' });
  });

  test('aborting execute stops waiting and takes our waiting job off the queue; close() rejects the waiters', async () => {
    // No worker on this queue: jobs stay waiting.
    const client = createQueueClient({ connection: redis.url, queue: queueName('abort') });
    clients.push(client);
    const hello = await client.putModule(wat('hello'));
    const controller = new AbortController();
    const pending = client.execute({ module: hello }, { signal: controller.signal });
    while ((await client.stats()).waiting < 1) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    while ((await client.stats()).waiting > 0) await new Promise((r) => setTimeout(r, 20));
    const keyed = client.execute({ module: hello }, { jobId: 'kept' }).catch((e: unknown) => e);
    await client.close();
    expect(await keyed).toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
    await expect(client.execute({ module: hello })).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
  });

  test('the JS backend in a worker, with the same limits', async () => {
    const { client } = await setup('js', { backend: 'js' });
    const [hello, bomb, loop] = await Promise.all([client.putModule(wat('hello')), client.putModule(c('memory_bomb')), client.putModule(wat('loop'))]);
    const r = await client.execute({ module: hello });
    expect(r).toMatchObject({ backend: 'js', exitCode: 0 });
    expect(r.stdout.toString()).toBe('hello, world\n');
    expect(await client.execute({ module: bomb, limits: { memoryLimitMb: 16 } })).toMatchObject({ trap: 'memory', backend: 'js' });
    expect(await client.execute({ module: loop, limits: { timeoutMs: 300 } })).toMatchObject({ timedOut: true, backend: 'js' });
    expect((await rejection(client.execute({ module: bomb, limits: { memoryLimitMb: 65 } }))).code).toBe('LIMIT_EXCEEDS_WORKER');
    // An exact fuel budget holds on the JS backend too (it meters by instrumenting the module).
    expect(await client.execute({ module: loop, limits: { fuel: 100_000 } })).toMatchObject({ timedOut: true, fuelConsumed: 100_000, backend: 'js' });
  });

  test('worker.close() finishes the running jobs and takes no new ones', async () => {
    const { client, worker, queue } = await setup('close');
    const sleep = await client.putModule(c('sleep'));
    const results = Array.from({ length: 6 }, (_, i) => client.execute({ module: sleep, args: ['1'] }, { jobId: `s${i}` }));
    // Both of its slots busy: close now.
    await worker.next((m) => m.type === 'active' && worker.messages.filter((x) => x.type === 'active').length >= 2);
    const closing = worker.close();
    expect(await closing).toBe(0);
    const active = worker.messages.filter((m) => m.type === 'active').map((m) => m.jobId);
    const done = worker.messages.filter((m) => m.type === 'completed').map((m) => m.jobId);
    expect(active).toHaveLength(2);
    expect(done.sort()).toEqual(active.sort());
    expect(await client.stats()).toMatchObject({ active: 0, waiting: 4, completed: 2 });
    // Another worker takes the rest; every job completes exactly once.
    const next = await startWorker({ connection: redis.url, queue, concurrency: 4, backend: BACKEND, sandbox: SANDBOX });
    workers.push(next);
    const all = await Promise.all(results);
    expect(all.map((r) => r.stdout.toString())).toEqual(Array(6).fill('slept\n'));
    // The worker reports over IPC, which may trail the result through Redis.
    const completed = () => next.messages.filter((m) => m.type === 'completed');
    await next.next(() => completed().length >= 4);
    const second = completed().map((m) => m.jobId!);
    expect([...done, ...second].sort()).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']);
  });
});
