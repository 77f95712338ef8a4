// Aborts and destroy() reject with the same class, code and words on both backends: the texts
// of src-ts/errors.ts, whichever backend (or path within one) stopped the run.
import { afterEach, describe, expect, test } from 'vitest';
import { AbortError, type Sandbox, type SandboxConfig } from '../../dist/esm/index.js';
import { abortedError, destroyedError } from '../../dist/esm/errors.js';
import { BACKENDS, type BackendName } from './backends.js';
import { wat } from './helpers.js';
import { hasSessions, trackedSandboxes, SESSION_GUEST } from './session-support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Seen {
  name: string;
  code: string;
  message: string;
}

async function rejection(p: Promise<unknown>): Promise<Seen> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(AbortError);
  const { name, code, message } = e as AbortError;
  return { name, code, message };
}

const expected = (e: AbortError): Seen => ({ name: e.name, code: e.code, message: e.message });

/** Each way a run is stopped, as a function of a fresh sandbox maker. */
const EXECUTE_CASES: Record<string, { make: (sb: (config?: SandboxConfig) => Sandbox) => Promise<Seen>; want: () => AbortError }> = {
  'destroy() during a running execute': {
    make: async (sb) => {
      const s = sb();
      const running = rejection(s.execute([wat('loop')]));
      await sleep(150);
      await s.destroy();
      return running;
    },
    want: destroyedError,
  },
  'an execute after destroy()': {
    make: async (sb) => {
      const s = sb();
      await s.destroy();
      return rejection(s.execute([wat('hello')]));
    },
    want: destroyedError,
  },
  'aborting a running execute': {
    make: async (sb) => {
      const ac = new AbortController();
      const running = rejection(sb().execute([wat('loop')], { signal: ac.signal }));
      await sleep(150);
      ac.abort('enough');
      return running;
    },
    want: () => abortedError('execute', 'enough'),
  },
  'an execute whose signal already fired': {
    make: (sb) => rejection(sb().execute([wat('hello')], { signal: AbortSignal.abort('early') })),
    want: () => abortedError('execute', 'early'),
  },
};

const SESSION_CASES: typeof EXECUTE_CASES = {
  'destroy() during a running session call': {
    make: async (sb) => {
      const s = sb();
      const session = await s.openSession(SESSION_GUEST);
      const running = rejection(session.call('spin'));
      await sleep(150);
      await s.destroy();
      return running;
    },
    want: destroyedError,
  },
  'aborting a running session call': {
    make: async (sb) => {
      const session = await sb().openSession(SESSION_GUEST);
      const ac = new AbortController();
      const running = rejection(session.call('spin', { signal: ac.signal }));
      await sleep(150);
      ac.abort('enough');
      return running;
    },
    want: () => abortedError('session call', 'enough', 'session ended'),
  },
  'a session call whose signal already fired': {
    make: async (sb) => {
      const session = await sb().openSession(SESSION_GUEST);
      return rejection(session.call('bump', { signal: AbortSignal.abort('early') }));
    },
    want: () => abortedError('session call', 'early', 'session goes on'),
  },
  'aborting a session call still queued': {
    make: async (sb) => {
      // `ask` waits 300 ms on the host, so the call behind it stays queued that long (and the session open).
      const session = await sb({ hostCall: () => new Promise((res) => setTimeout(() => res('ok'), 300)) }).openSession(SESSION_GUEST);
      const running = session.call('ask', { input: 'x' });
      const ac = new AbortController();
      const queued = rejection(session.call('bump', { signal: ac.signal }));
      await sleep(100);
      ac.abort('later');
      const seen = await queued;
      await running;
      return seen;
    },
    want: () => abortedError('session call', 'later', 'session goes on'),
  },
};

const cases = (backend: BackendName): typeof EXECUTE_CASES =>
  hasSessions(backend) ? { ...EXECUTE_CASES, ...SESSION_CASES } : EXECUTE_CASES;

describe.each(BACKENDS)('abort and destroy texts [%s]', (backend) => {
  const tracked = trackedSandboxes(backend);
  afterEach(() => tracked.destroyAll());
  const sb = (config: SandboxConfig = {}) => tracked.make({ timeoutMs: 30_000, ...config });

  test.each(Object.keys(cases(backend)))('%s', async (name) => {
    const c = cases(backend)[name] as (typeof EXECUTE_CASES)[string];
    expect(await c.make(sb)).toEqual(expected(c.want()));
  });
});

describe.runIf(BACKENDS.length === 2)('abort and destroy texts: native and js agree', () => {
  const native = trackedSandboxes('native');
  const js = trackedSandboxes('js');
  afterEach(() => Promise.all([native.destroyAll(), js.destroyAll()]));

  test('destroy() during a run and aborting a run: the same code and message on both', async () => {
    const shared = hasSessions('native') ? { ...EXECUTE_CASES, ...SESSION_CASES } : EXECUTE_CASES;
    for (const [name, c] of Object.entries(shared)) {
      const onNative = await c.make((config = {}) => native.make({ timeoutMs: 30_000, ...config }));
      const onJs = await c.make((config = {}) => js.make({ timeoutMs: 30_000, ...config }));
      expect({ name, ...onNative }).toEqual({ name, ...onJs });
    }
  });
});
