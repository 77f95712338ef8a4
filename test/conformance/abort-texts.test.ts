// Aborts and destroy() reject with the same class, code and words on both backends: the texts
// of src-ts/shared/errors.ts, whichever backend (or path within one) stopped the run.
import { afterEach, describe, expect, test } from 'vitest';
import { AbortError, type Sandbox, type SandboxConfig } from '../../dist/esm/index.js';
import { abortedError, destroyedError } from '../../dist/esm/shared/errors.js';
import { BACKENDS, type BackendName } from './backends.js';
import { wat } from './helpers.js';
import { trackedSandboxes, SESSION_GUEST } from './session-support.js';

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

type MakeSandbox = (config?: SandboxConfig) => Sandbox;
type Case = { make: (sb: MakeSandbox) => Promise<Seen>; want: () => AbortError };

/** Lets `run` get going (150 ms: well into a spinning guest), then `stop`s it; what `run` rejected with. */
async function stoppedWhileRunning(run: Promise<unknown>, stop: () => unknown): Promise<Seen> {
  const seen = rejection(run);
  await sleep(150);
  await stop();
  return seen;
}

/** Each way a run is stopped, given a maker of fresh sandboxes, and the error the factory writes for it. */
const EXECUTE_CASES: Record<string, Case> = {
  'destroy() during a running execute': {
    make: (sb) => {
      const s = sb();
      return stoppedWhileRunning(s.execute([wat('loop')]), () => s.destroy());
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
    make: (sb) => {
      const ac = new AbortController();
      return stoppedWhileRunning(sb().execute([wat('loop')], { signal: ac.signal }), () => ac.abort('enough'));
    },
    want: () => abortedError('execute', 'enough'),
  },
  'an execute whose signal already fired': {
    make: (sb) => rejection(sb().execute([wat('hello')], { signal: AbortSignal.abort('early') })),
    want: () => abortedError('execute', 'early'),
  },
};

const SESSION_CASES: Record<string, Case> = {
  'destroy() during a running session call': {
    make: async (sb) => {
      const s = sb();
      const session = await s.openSession(SESSION_GUEST);
      return stoppedWhileRunning(session.call('spin'), () => s.destroy());
    },
    want: destroyedError,
  },
  'aborting a running session call': {
    make: async (sb) => {
      const session = await sb().openSession(SESSION_GUEST);
      const ac = new AbortController();
      return stoppedWhileRunning(session.call('spin', { signal: ac.signal }), () => ac.abort('enough'));
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
      // `ask` waits 300 ms on the host, so the call behind it stays queued past the abort (and the session open).
      const session = await sb({ hostCall: () => new Promise((res) => setTimeout(() => res('ok'), 300)) }).openSession(SESSION_GUEST);
      const running = session.call('ask', { input: 'x' });
      const ac = new AbortController();
      const seen = await stoppedWhileRunning(session.call('bump', { signal: ac.signal }), () => ac.abort('later'));
      await running;
      return seen;
    },
    want: () => abortedError('session call', 'later', 'session goes on'),
  },
};

const CASES: Record<string, Case> = { ...EXECUTE_CASES, ...SESSION_CASES };

/** Sandboxes whose runs outlast every case (30 s), destroyed after each test. */
const maker = (tracked: ReturnType<typeof trackedSandboxes>): MakeSandbox =>
  (config = {}) => tracked.make({ timeoutMs: 30_000, ...config });

describe.each(BACKENDS)('abort and destroy texts [%s]', (backend) => {
  const tracked = trackedSandboxes(backend);
  afterEach(() => tracked.destroyAll());

  test.each(Object.keys(CASES))('%s', async (name) => {
    const c = CASES[name] as Case;
    expect(await c.make(maker(tracked))).toEqual(expected(c.want()));
  });
});

describe.runIf(BACKENDS.length === 2)('abort and destroy texts: native and js agree', () => {
  const native = trackedSandboxes('native');
  const js = trackedSandboxes('js');
  afterEach(() => Promise.all([native.destroyAll(), js.destroyAll()]));

  test('destroy() during a run and aborting a run: the same code and message on both', async () => {
    // The cases both have: the native ones (sessions only once the addon has them).
    for (const [name, c] of Object.entries(CASES)) {
      const onNative = await c.make(maker(native));
      const onJs = await c.make(maker(js));
      expect({ case: name, ...onNative }).toEqual({ case: name, ...onJs });
    }
  });
});
