// Modules are stored in Redis once, by the SHA-256 of their bytes, and jobs
// name them by that hash: a module never travels with each job. A worker
// fetches a module once, checks that the bytes hash to the name it asked
// for, and keeps a private local copy that the sandbox then runs (and
// caches compiled) like any module file.
import { createHash, randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClient } from 'bullmq';
import { MAX_MODULE_BYTES } from '../shared/config.js';
import { QueueError } from './errors.js';

/** A module stored in Redis: pass it as `module` to `execute`. */
export interface ModuleRef {
  /** Lowercase hex SHA-256 of the module bytes: its name in Redis. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
}

const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d]);

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The Redis hash holding one module: fields `wasm` (base64) and `size`. Under the queue's keys. */
export function moduleKey(prefix: string, queue: string, sha256: string): string {
  return `${prefix}:${queue}:mimobox:module:${sha256}`;
}

/** Reads a path or takes bytes, and checks the size and the wasm magic number. */
export async function moduleBytes(source: unknown): Promise<Buffer> {
  let bytes: Buffer;
  if (typeof source === 'string') {
    try {
      bytes = await readFile(source);
    } catch (e) {
      throw new QueueError('MODULE_NOT_FOUND', `cannot read module file ${source}: ${(e as Error).message}`);
    }
  } else if (source instanceof Uint8Array) {
    bytes = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  } else {
    throw new QueueError('CONFIG_INVALID', 'putModule: pass a module path or a Buffer/Uint8Array of module bytes');
  }
  if (bytes.length > MAX_MODULE_BYTES) {
    throw new QueueError('MODULE_TOO_LARGE', `the module is ${bytes.length} bytes, over the ${MAX_MODULE_BYTES / 1048576} MiB limit`);
  }
  if (bytes.length < 8 || !bytes.subarray(0, 4).equals(WASM_MAGIC)) {
    throw new QueueError('MODULE_INVALID', 'not a WebAssembly module (no \\0asm magic number)');
  }
  return bytes;
}

/** Stores bytes under their hash unless already there; returns the reference. */
export async function putModule(client: RedisClient, prefix: string, queue: string, bytes: Buffer): Promise<ModuleRef> {
  const sha256 = sha256Hex(bytes);
  const key = moduleKey(prefix, queue, sha256);
  // Content-addressed: an existing entry holds the same bytes, so it is never rewritten.
  if ((await client.hexists(key, 'wasm')) !== 1) {
    await client.hset(key, { wasm: bytes.toString('base64'), size: bytes.length });
  }
  return { sha256, size: bytes.length };
}

/** A module's local copy, held while a sandbox loads it: release it once the execute is over. */
export interface ModuleLease {
  readonly path: string;
  release(): void;
}

/** Default bound on a worker's local copies: 1 GiB (4 modules at the largest module size). */
export const DEFAULT_MODULE_CACHE_MB = 1024;

interface Entry {
  file: string;
  size: number;
  /** Executes using the file now: it is never evicted while above 0. */
  pins: number;
}

/**
 * A worker's local copies of modules, fetched from Redis on first use and
 * verified. The directory is private to the worker and removed on close.
 * Bounded on disk: past `maxBytes` (or `maxFiles` copies) the least recently
 * used copies that no execute holds are deleted; only copies in use can take
 * it over the bound (at most one per job running), until they are released.
 */
export class LocalModules {
  /** In order of last use, oldest first. */
  private readonly files = new Map<string, Entry>();
  private readonly fetching = new Map<string, Promise<void>>();
  private dir: string | undefined;
  private bytes = 0;

  constructor(
    private readonly fetch: (sha256: string) => Promise<string | null>,
    private readonly maxBytes = DEFAULT_MODULE_CACHE_MB * 1024 * 1024,
    private readonly maxFiles = 256,
  ) {}

  /** Bytes of local copies on disk now. */
  get diskBytes(): number {
    return this.bytes;
  }

  /** The local path of a module's verified bytes, held until released; fetches them once. */
  async acquire(sha256: string): Promise<ModuleLease> {
    for (;;) {
      const entry = this.files.get(sha256);
      if (entry !== undefined) {
        this.files.delete(sha256);
        this.files.set(sha256, entry); // most recently used last
        entry.pins++;
        let held = true;
        return {
          path: entry.file,
          release: () => {
            if (!held) return;
            held = false;
            entry.pins--;
            this.evict();
          },
        };
      }
      // Not here, or evicted between its fetch and this turn: (re)fetch it.
      let pending = this.fetching.get(sha256);
      if (pending === undefined) {
        pending = this.load(sha256).finally(() => this.fetching.delete(sha256));
        this.fetching.set(sha256, pending);
      }
      await pending;
    }
  }

  private async load(sha256: string): Promise<void> {
    const b64 = await this.fetch(sha256);
    if (b64 === null) {
      throw new QueueError('MODULE_UNKNOWN', `no module ${sha256} is stored for this queue: store it with client.putModule first`);
    }
    const bytes = Buffer.from(b64, 'base64');
    const actual = sha256Hex(bytes);
    if (actual !== sha256) {
      throw new QueueError('MODULE_HASH_MISMATCH', `the bytes stored for module ${sha256} hash to ${actual}: the entry in Redis is corrupt or forged; store the module again`);
    }
    if (bytes.length > MAX_MODULE_BYTES) {
      throw new QueueError('MODULE_TOO_LARGE', `module ${sha256} is ${bytes.length} bytes, over the ${MAX_MODULE_BYTES / 1048576} MiB limit`);
    }
    this.dir ??= await mkdtemp(join(tmpdir(), 'mimobox-queue-'));
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, `${sha256}.wasm`);
    // Written whole, then renamed, so a sandbox never sees a partial file.
    const temp = join(this.dir, `.tmp-${randomBytes(6).toString('hex')}`);
    await writeFile(temp, bytes, { mode: 0o600 });
    await rename(temp, file);
    this.files.set(sha256, { file, size: bytes.length, pins: 0 });
    this.bytes += bytes.length;
    // The new copy is kept for its waiters (they take it in this turn's microtasks).
    this.evict(sha256);
  }

  /** Deletes the least recently used copies nobody holds until under both bounds. */
  private evict(keep?: string): void {
    for (const [sha256, entry] of this.files) {
      if (this.bytes <= this.maxBytes && this.files.size <= this.maxFiles) return;
      if (entry.pins > 0 || sha256 === keep) continue;
      this.files.delete(sha256);
      this.bytes -= entry.size;
      // One unlink: synchronous, so the bound holds as soon as this returns.
      try {
        unlinkSync(entry.file);
      } catch {
        /* already gone (dispose) */
      }
    }
  }

  async dispose(): Promise<void> {
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
    this.files.clear();
    this.bytes = 0;
  }
}
