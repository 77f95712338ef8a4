// Shared by the queue integration tests: the guests and the backend workers use.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const wat = (name: string) => join(ROOT, 'test', 'guests', 'wat', `${name}.wasm`);
export const c = (name: string) => join(ROOT, 'test', 'guests', 'c', `${name}.wasm`);

/**
 * The backend of the workers under test: native (the addon must be built), or
 * MIMOBOX_QUEUE_TEST_BACKEND=js on a host without it. The JS backend also has
 * its own test in queue.test.ts either way.
 */
export const BACKEND = process.env.MIMOBOX_QUEUE_TEST_BACKEND === 'js' ? 'js' : 'native';

let n = 0;
/** A fresh queue name per test, so tests sharing one Redis never see each other's jobs. */
export function queueName(tag: string): string {
  return `t-${process.pid}-${tag}-${++n}`;
}
