// Issue 21 item 8 (queue part): a queue worker's local module copies are
// bounded on disk. Past the bound the least recently used copies go, never
// one a job is running; only copies in use can hold it over the bound.
// LocalModules on its own, with modules served from memory: no Redis needed.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { LocalModules, type ModuleLease } from '../../dist/esm/queue/modules.js';

const SIZE = 1000;
const store = new Map<string, Buffer>();
function module(): string {
  const bytes = randomBytes(SIZE);
  const sha = createHash('sha256').update(bytes).digest('hex');
  store.set(sha, bytes);
  return sha;
}

let fetches = 0;
const fetch = async (sha: string): Promise<string | null> => {
  fetches++;
  return store.get(sha)?.toString('base64') ?? null;
};

let local: LocalModules | undefined;
afterEach(async () => {
  await local?.dispose();
  local = undefined;
});

/** What is on disk in the copies' directory (no temporary files left either). */
function onDisk(lease: ModuleLease): { files: number; bytes: number } {
  const dir = dirname(lease.path);
  const names = readdirSync(dir);
  return { files: names.length, bytes: names.reduce((n, f) => n + statSync(join(dir, f)).size, 0) };
}

async function use(m: LocalModules, sha: string): Promise<ModuleLease> {
  const lease = await m.acquire(sha);
  expect(readdirSync(dirname(lease.path))).toContain(`${sha}.wasm`);
  return lease;
}

describe('a queue worker\'s local module copies', () => {
  test('stay under the disk bound: the least recently used copies go', async () => {
    local = new LocalModules(fetch, 3 * SIZE);
    const shas = Array.from({ length: 10 }, module);
    let last: ModuleLease | undefined;
    for (const sha of shas) {
      last = await use(local, sha);
      last.release();
      const disk = onDisk(last);
      expect(disk.bytes).toBeLessThanOrEqual(3 * SIZE);
      expect(local.diskBytes).toBe(disk.bytes);
    }
    // The three most recent are the ones kept.
    const dir = dirname((last as ModuleLease).path);
    expect(readdirSync(dir).sort()).toEqual(shas.slice(-3).map((s) => `${s}.wasm`).sort());
  });

  test('a copy used again is kept over older ones (LRU, not FIFO)', async () => {
    local = new LocalModules(fetch, 3 * SIZE);
    const [a, b, c, d] = [module(), module(), module(), module()] as [string, string, string, string];
    for (const sha of [a, b, c]) (await use(local, sha)).release();
    (await use(local, a)).release(); // a is now the most recent
    const lease = await use(local, d);
    lease.release();
    const names = readdirSync(dirname(lease.path));
    expect(names).toContain(`${a}.wasm`);
    expect(names).not.toContain(`${b}.wasm`);
  });

  test('never deletes a copy in use; over the bound only while held, back under it on release', async () => {
    local = new LocalModules(fetch, 2 * SIZE);
    const held = await use(local, module());
    const others: ModuleLease[] = [];
    for (let i = 0; i < 4; i++) others.push(await use(local, module()));
    // All five are in use: none may go, whatever the bound.
    for (const l of [held, ...others]) expect(existsSync(l.path)).toBe(true);
    expect(local.diskBytes).toBe(5 * SIZE);
    for (const l of others) l.release();
    // The oldest (held) is still in use: the released ones go instead.
    expect(existsSync(held.path)).toBe(true);
    expect(local.diskBytes).toBeLessThanOrEqual(2 * SIZE);
    held.release();
    held.release(); // twice is harmless
    expect(onDisk(others[3] as ModuleLease).bytes).toBeLessThanOrEqual(2 * SIZE);
  });

  test('a module used after its copy was evicted is fetched again, verified', async () => {
    local = new LocalModules(fetch, SIZE);
    const [a, b] = [module(), module()];
    (await use(local, a)).release();
    (await use(local, b)).release();
    const before = fetches;
    const again = await use(local, a);
    expect(fetches).toBe(before + 1);
    expect(statSync(again.path).size).toBe(SIZE);
    again.release();
  });

  test('many jobs asking for one module at once share one fetch and one copy', async () => {
    local = new LocalModules(fetch, SIZE);
    const sha = module();
    const before = fetches;
    const leases = await Promise.all(Array.from({ length: 20 }, () => (local as LocalModules).acquire(sha)));
    expect(fetches).toBe(before + 1);
    expect(new Set(leases.map((l) => l.path)).size).toBe(1);
    for (const l of leases) l.release();
    expect(existsSync((leases[0] as ModuleLease).path)).toBe(true); // at the bound, not over it
  });
});
