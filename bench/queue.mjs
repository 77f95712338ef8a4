#!/usr/bin/env node
// Queue benchmark: sandbox jobs through Redis (mimobox-wasm/queue) with 1 and
// 2 worker processes, against in-process `execute` on the same machine.
// Starts its own redis-server (loopback, free port, temp dir, no persistence).
//
//   node bench/queue.mjs [--quick] [--backend native|js]
//
// Prints a Markdown table and writes bench/queue-results.json. Needs
// `npm run build:ts`, redis-server on PATH and (for native) the addon.
import { fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchDir, fmtMs, fmtRate, guestsDir, importPackage, loadavg, now, sleep, summarize } from './lib.mjs';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, backend: { type: 'string' } } });
const quick = values.quick === true;
const backend = values.backend ?? 'native';
const WINDOW_MS = quick ? 1000 : 3000;
const LATENCY_SAMPLES = quick ? 100 : 400;
const IN_FLIGHT = 32;
const CONCURRENCY = 8; // per worker process
const SANDBOX = { timeoutMs: 10_000, memoryLimitMb: 64 };

const GUESTS = [
  { key: 'hello', file: join(guestsDir, 'wat', 'hello.wasm'), args: [], expect: 'hello, world\n' },
  { key: 'nbody 100k', file: join(guestsDir, 'c', 'nbody.wasm'), args: ['100000'], expect: null },
];

if (spawnSync('redis-server', ['--version']).status !== 0) {
  console.error('bench/queue: redis-server is not on PATH (apt-get install redis-server)');
  process.exit(2);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mimobox-bench-redis-'));
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (/Ready to accept connections/.test(out)) resolve();
    });
    child.on('exit', () => reject(new Error(`redis-server exited: ${out}`)));
  });
  process.on('exit', () => child.kill('SIGKILL'));
  return { url: `redis://127.0.0.1:${port}`, stop: () => (child.kill('SIGTERM'), rmSync(dir, { recursive: true, force: true })) };
}

async function startWorkers(count, url, queue) {
  const ws = [];
  for (let i = 0; i < count; i++) {
    const w = fork(join(benchDir, 'queue-worker.mjs'), [JSON.stringify({ connection: url, queue, concurrency: CONCURRENCY, backend, sandbox: SANDBOX })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('exit', () => reject(new Error('worker exited')));
    });
    ws.push(w);
  }
  return { close: () => Promise.all(ws.map((w) => new Promise((r) => (w.once('exit', r), w.send({ type: 'close' }))))) };
}

/**
 * Sequential latency of `run`, its overhead (wall time minus the guest's own `elapsedMs`, so
 * that load changes in the guest's run time cancel out), and completions/s with IN_FLIGHT
 * kept running for WINDOW_MS.
 */
async function measure(run, check) {
  for (let i = 0; i < 20; i++) check(await run());
  const lat = [];
  const overhead = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const t = now();
    const r = await run();
    const wall = now() - t;
    lat.push(wall);
    overhead.push(Math.max(0, wall - r.elapsedMs));
  }
  let done = 0;
  const end = now() + WINDOW_MS;
  const started = now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (now() < end) {
        await run();
        done++;
      }
    }),
  );
  return { latency: summarize(lat), overhead: summarize(overhead), perSec: done / ((now() - started) / 1000) };
}

const pkg = await importPackage();
const queueApi = await importPackage({ entry: 'queue/index.js' });
const redis = await startRedis();
const startedAt = now();
const rows = [];
try {
  for (const g of GUESTS) {
    const check = (r) => {
      if (r.exitCode !== 0 || (g.expect !== null && r.stdout.toString() !== g.expect)) throw new Error(`${g.key}: wrong result ${JSON.stringify(r)}`);
    };
    const sandbox = pkg.createSandbox({ ...SANDBOX, maxConcurrency: CONCURRENCY }, { backend });
    const inProcess = await measure(() => sandbox.execute([g.file, ...g.args]), check);
    await sandbox.destroy();
    rows.push({ guest: g.key, mode: 'in-process execute', ...inProcess });
    for (const count of [1, 2]) {
      const queue = `bench-${process.pid}-${rows.length}`;
      const workers = await startWorkers(count, redis.url, queue);
      const client = queueApi.createQueueClient({ connection: redis.url, queue, keepResultsCount: 1000 });
      const ref = await client.putModule(g.file);
      const r = await measure(() => client.execute({ module: ref, args: g.args }), check);
      rows.push({ guest: g.key, mode: `queue, ${count} worker process${count > 1 ? 'es' : ''}`, ...r });
      await client.close();
      await workers.close();
    }
  }
} finally {
  redis.stop();
}

const header = `Command: \`node bench/queue.mjs${quick ? ' --quick' : ''}\` (${backend} backend, ${availableParallelism()} CPUs, Node ${process.version}, load ${loadavg()}); ${((now() - startedAt) / 1000).toFixed(1)} s.\n`;
// A negative difference is noise from other load on the machine: shown, not hidden.
const signed = (ms) => (ms < 0 ? `−${fmtMs(-ms)}` : fmtMs(ms));
const lines = [
  '| guest | mode | jobs/s, 32 in flight | latency P50, 1 in flight | P99 | overhead P50 | overhead P99 | added P50 vs in-process | added P99 |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const r of rows) {
  const base = rows.find((x) => x.guest === r.guest && x.mode === 'in-process execute');
  const added = r === base ? ['—', '—'] : [signed(r.overhead.p50 - base.overhead.p50), signed(r.overhead.p99 - base.overhead.p99)];
  lines.push(`| ${r.guest} | ${r.mode} | ${fmtRate(r.perSec)} | ${fmtMs(r.latency.p50)} | ${fmtMs(r.latency.p99)} | ${fmtMs(r.overhead.p50)} | ${fmtMs(r.overhead.p99)} | ${added[0]} | ${added[1]} |`);
}
console.log(`${header}\n${lines.join('\n')}\n\nOverhead: wall time minus the guest's own elapsedMs, per job. Workers: concurrency ${CONCURRENCY} each; the client, Redis and the workers share this machine's cores.`);
writeFileSync(
  join(benchDir, 'queue-results.json'),
  `${JSON.stringify({ date: new Date().toISOString(), backend, quick, cpus: availableParallelism(), node: process.version, inFlight: IN_FLIGHT, workerConcurrency: CONCURRENCY, rows }, null, 2)}\n`,
);
process.exit(0);
