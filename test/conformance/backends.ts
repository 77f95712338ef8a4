// The backends the conformance suite runs: both by default; MIMOBOX_BACKENDS
// (comma list, e.g. "js") narrows it for local work.
export type BackendName = 'native' | 'js';

const ALL: BackendName[] = ['native', 'js'];

function fromEnv(): BackendName[] {
  const raw = process.env.MIMOBOX_BACKENDS;
  if (!raw) return ALL;
  // Narrowing is for local work: rows comparing the backends would skip, so CI may not.
  if (process.env.CI === 'true') throw new Error('MIMOBOX_BACKENDS narrows the suite to one backend: CI must run both (unset it)');
  const wanted = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const w of wanted) {
    if (!ALL.includes(w as BackendName)) throw new Error(`MIMOBOX_BACKENDS: unknown backend ${JSON.stringify(w)} (use native, js)`);
  }
  return ALL.filter((b) => wanted.includes(b));
}

export const BACKENDS: BackendName[] = fromEnv();
