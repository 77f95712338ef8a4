// Imported first by the bench scripts: drops Node's "WASI is an experimental
// feature" warning, which would otherwise interleave with the progress output.
const emit = process.emitWarning;
process.emitWarning = function emitWarning(warning, ...rest) {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (type === 'ExperimentalWarning' && String(warning).includes('WASI')) return;
  return emit.call(process, warning, ...rest);
};
