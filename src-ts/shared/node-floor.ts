// The Node.js floor, checked before anything else of the package runs. The
// import path takes Node's built-ins through process.getBuiltinModule
// (native/addon.ts says why), which Node 20.16 added; npm only warns about
// `engines`, so an older Node would otherwise die on a bare TypeError. The
// check is by the feature itself, not by version number. Every entry point
// (index, python, queue, cli) imports this module first, and every module
// takes its built-ins through `builtin`, so whichever runs first (a bundled
// chunk orders modules its own way) says the same.
import { SandboxError } from './errors.js';

/** The oldest Node.js the package runs on (package.json `engines`). */
export const NODE_FLOOR = '20.16.0';

const tooOld = (): SandboxError =>
  new SandboxError(
    'NODE_UNSUPPORTED',
    `mimobox-wasm needs Node.js ${NODE_FLOOR} or later (process.getBuiltinModule); this is Node.js ${process.version}: upgrade Node.js`,
  );

/** `process.getBuiltinModule`, or the floor's typed error on a Node.js without it. */
export const builtin = ((id: string) => {
  if (typeof process.getBuiltinModule !== 'function') throw tooOld();
  return process.getBuiltinModule(id);
}) as typeof process.getBuiltinModule;

if (typeof process.getBuiltinModule !== 'function') throw tooOld();
