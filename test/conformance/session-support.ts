// Shared by the session and host-door conformance tests: which backends have
// sessions yet, the session guest, sandboxes destroyed after each test, and
// small hand-assembled guests.
import { ConfigError, createSandbox, type Sandbox, type SandboxConfig } from '../../dist/esm/index.js';
import { loadNativeBinding } from '../../dist/esm/native/addon.js';
import { sandbox, wat } from './helpers.js';
import type { BackendName } from './backends.js';

export const SESSION_GUEST = wat('session');

/**
 * The native rows run once the native backend has sessions and the door (the lead's Rust work): the
 * addon exports its session class and the TypeScript wrapper opens one, rather than saying "not yet".
 */
async function probeNative(): Promise<boolean> {
  try {
    if (!('NativeSession' in (loadNativeBinding() as object))) return false;
  } catch {
    return false;
  }
  const sb = createSandbox({}, { backend: 'native' });
  try {
    await (await sb.openSession(SESSION_GUEST)).close();
    return true;
  } catch (e) {
    // Any other failure is the implementation's: run the rows and let them show it.
    return !(e instanceof ConfigError && /not available yet/.test(e.message));
  } finally {
    await sb.destroy();
  }
}

export const NATIVE_SESSIONS = await probeNative();

export const hasSessions = (backend: BackendName): boolean => backend === 'js' || NATIVE_SESSIONS;

/** Sandboxes made during a test, destroyed after it by `destroyAll` (call it from afterEach). */
export function trackedSandboxes(backend: BackendName): { make(config?: SandboxConfig): Sandbox; destroyAll(): Promise<void> } {
  let made: Sandbox[] = [];
  return {
    make: (config = {}) => {
      const sb = sandbox(backend, config);
      made.push(sb);
      return sb;
    },
    destroyAll: async () => {
      const all = made;
      made = [];
      await Promise.all(all.map((sb) => sb.destroy()));
    },
  };
}

/** The module `(func (export "_initialize") unreachable)`: an open whose _initialize traps. */
export const TRAPPING_INIT = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type 0: () -> ()
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x07, 0x0f, 0x01, 0x0b, ...Buffer.from('_initialize'), 0x00, 0x00, // export it as _initialize
  0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // body: unreachable
]);

/**
 * `flood() -> i32`: calls host.call 1,000 times with a request outside memory (each a fault), returns 1000.
 * (module (import "host" "call" (func (param i32 i32 i32 i32) (result i32))) (memory (export "memory") 1)
 *   (func (export "flood") (result i32) (local i32)
 *     (loop (drop (call 0 (i32.const -16) (i32.const 64) (i32.const 16) (i32.const 20)))
 *       (br_if 0 (i32.lt_u (local.tee 0 (i32.add (local.get 0) (i32.const 1))) (i32.const 1000))))
 *     (local.get 0)))
 */
export const FAULT_FLOOD = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x0d, 0x02, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x01, 0x7f,
  0x02, 0x0d, 0x01, 0x04, ...Buffer.from('host'), 0x04, ...Buffer.from('call'), 0x00, 0x00,
  0x03, 0x02, 0x01, 0x01,
  0x05, 0x03, 0x01, 0x00, 0x01,
  0x07, 0x12, 0x02, 0x05, ...Buffer.from('flood'), 0x00, 0x01, 0x06, ...Buffer.from('memory'), 0x02, 0x00,
  0x0a, 0x24, 0x01, 0x22, 0x01, 0x01, 0x7f,
  0x03, 0x40, 0x41, 0x70, 0x41, 0xc0, 0x00, 0x41, 0x10, 0x41, 0x14, 0x10, 0x00, 0x1a,
  0x20, 0x00, 0x41, 0x01, 0x6a, 0x22, 0x00, 0x41, 0xe8, 0x07, 0x49, 0x0d, 0x00, 0x0b,
  0x20, 0x00, 0x0b,
]);

/**
 * `_start`: opens (creating) `held.txt` in the preopen at fd 3 for reading and writing (rights
 * FD_READ | FD_WRITE = 66), keeps it open and spins.
 * (module (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
 *   (memory (export "memory") 1) (data (i32.const 16) "held.txt")
 *   (func (export "_start")
 *     (drop (call 0 (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 8) (i32.const 1) (i64.const 66) (i64.const 0)
 *       (i32.const 0) (i32.const 32)))
 *     (loop (br 0))))
 */
export const OPEN_AND_SPIN = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x11, 0x02, 0x60, 0x09, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7e, 0x7e, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00,
  0x02, 0x24, 0x01, 0x16, ...Buffer.from('wasi_snapshot_preview1'), 0x09, ...Buffer.from('path_open'), 0x00, 0x00,
  0x03, 0x02, 0x01, 0x01,
  0x05, 0x03, 0x01, 0x00, 0x01,
  0x07, 0x13, 0x02, 0x06, ...Buffer.from('_start'), 0x00, 0x01, 0x06, ...Buffer.from('memory'), 0x02, 0x00,
  0x0a, 0x1f, 0x01, 0x1d, 0x00,
  0x41, 0x03, 0x41, 0x00, 0x41, 0x10, 0x41, 0x08, 0x41, 0x01, 0x42, 0xc2, 0x00, 0x42, 0x00, 0x41, 0x00, 0x41, 0x20,
  0x10, 0x00, 0x1a, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b,
  0x0b, 0x0e, 0x01, 0x00, 0x41, 0x10, 0x0b, 0x08, ...Buffer.from('held.txt'),
]);
