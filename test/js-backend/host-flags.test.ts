// The JS backend under the host's Node flags: workers start whatever flags
// the host process was started with, and a worker that cannot start rejects
// that execute with a typed error instead of crashing the host. Each case
// runs in a child process started with the flags (or with Worker broken).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { wat } from '../conformance/helpers.js';

const INDEX = new URL('../../dist/esm/index.js', import.meta.url).href;
const tmp = mkdtempSync(join(tmpdir(), 'mimobox-host-flags-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs `body` (an ESM snippet with JsSandbox in scope) in a child started with `flags`. */
function child(flags: string[], body: string): { status: number | null; stdout: string; stderr: string } {
  const script = `import { JsSandbox } from ${JSON.stringify(INDEX)};\n${body}`;
  const out = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], {
    encoding: 'utf8', timeout: 30_000,
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

const HELLO = `
  const sb = new JsSandbox();
  try {
    const r = await sb.execute([${JSON.stringify(wat('hello'))}]);
    console.log(JSON.stringify({ exitCode: r.exitCode, stdout: r.stdout.toString() }));
  } finally {
    await sb.destroy();
  }
`;

describe('host flags', () => {
  test.each([
    ['--max-old-space-size=512'],
    ['--expose-gc'],
    ['--inspect=0'],
    ['--no-warnings'],
    ['--max-old-space-size=512', '--expose-gc', '--inspect=0', '--no-warnings'],
  ])('an execute runs under %s', (...flags) => {
    const r = child(flags, HELLO);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ exitCode: 0, stdout: 'hello, world\n' });
  });
});

describe('a worker that cannot start', () => {
  // A loader hook gives the pool a Worker that fails: thrown by the
  // constructor (bad options, no thread to give), or an 'error' event before
  // the thread ever runs (ERR_WORKER_INIT_FAILED).
  const fakes = {
    throws: `export class Worker { constructor() { throw Object.assign(new Error('no thread to give (test)'), { code: 'ERR_TEST' }); } }`,
    errors: `import { EventEmitter } from 'node:events';
      export class Worker extends EventEmitter {
        constructor() { super(); setImmediate(() => { this.emit('error', new Error('worker init failed (test)')); this.emit('exit', 1); }); }
        postMessage() {} ref() {} unref() {} terminate() { return Promise.resolve(0); }
      }`,
  };
  const register = (fake: string): string => {
    const hooks = join(tmp, `hooks-${fake.length}.mjs`);
    writeFileSync(hooks, `
      const FAKE = 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(fake)});
      export async function resolve(specifier, context, next) {
        if (specifier === 'node:worker_threads' && context.parentURL?.includes('/js-backend/threads/threads.js')) {
          return { url: FAKE, shortCircuit: true };
        }
        return next(specifier, context);
      }`);
    const reg = join(tmp, `register-${fake.length}.mjs`);
    writeFileSync(reg, `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hooks).href)});`);
    return pathToFileURL(reg).href;
  };

  test.each(Object.keys(fakes))('Worker %s: each execute rejects with InternalError, the host lives on', (kind) => {
    const r = child(['--import', register(fakes[kind as keyof typeof fakes])], `
      const sb = new JsSandbox({ maxConcurrency: 1 });
      const seen = [];
      for (let i = 0; i < 3; i++) {
        try {
          await sb.execute([${JSON.stringify(wat('hello'))}]);
          seen.push('resolved');
        } catch (e) {
          seen.push(e.name + ':' + e.code + ':' + /could not start a worker thread/.test(e.message));
        }
      }
      await sb.destroy();
      console.log(JSON.stringify(seen));
    `);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual(Array(3).fill('InternalError:INTERNAL:true'));
  });
});
