// createSandbox: picks a backend. 'auto' prefers native and falls back to the
// pure-JS backend, with a warning in every result, when the addon cannot load.
import { SandboxError } from './shared/errors.js';
import { JsSandbox } from './js-backend/facade.js';
import { loadNativeBinding } from './native/addon.js';
import { WasmSandbox } from './native/sandbox.js';
import type { Sandbox, SandboxConfig } from './shared/types.js';

export type Backend = 'native' | 'js' | 'auto';

export interface CreateSandboxOptions {
  backend?: Backend;
}

export function createSandbox(config: SandboxConfig = {}, options: CreateSandboxOptions = {}): Sandbox {
  const backend = options.backend ?? 'auto';
  if (backend === 'native') return new WasmSandbox(config);
  if (backend === 'js') return new JsSandbox(config);
  if (backend !== 'auto') {
    throw new SandboxError('CONFIG_INVALID', `backend: must be 'native', 'js' or 'auto', got ${String(backend)}`);
  }
  try {
    loadNativeBinding();
  } catch (e) {
    // One line: the headline plus what was tried (the full message has a multi-line hint).
    const lines = (e instanceof Error ? e.message : String(e)).split('\n');
    const tried = lines.filter((l) => l.startsWith('  ')).map((l) => l.trim());
    const reason = [lines[0], ...tried].join(' ');
    return new JsSandbox(config, { extraWarnings: [`native backend unavailable, using the pure-JS backend (${reason})`] });
  }
  return new WasmSandbox(config);
}
