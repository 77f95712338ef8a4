// What the numbers were measured on: machine, Node, commit, addon build, load.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchDir, loadavg } from './lib.mjs';

/** Which code was measured: the commit, whether the tree had changes, the addon's build time. */
export function gitInfo() {
  const git = (...a) => spawnSync('git', a, { cwd: join(benchDir, '..'), encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain', '--untracked-files=no', '--', 'src-rs', 'src-ts');
  let addonBuilt = null;
  try {
    const node = readdirSync(join(benchDir, '..')).find((f) => f.endsWith('.node'));
    if (node) addonBuilt = statSync(join(benchDir, '..', node)).mtime.toISOString();
  } catch { /* informational only */ }
  return {
    gitCommit: head.status === 0 ? head.stdout.trim() : null,
    sourceChanged: dirty.status === 0 ? dirty.stdout.trim().length > 0 : null,
    addonBuilt,
  };
}

export function machineInfo() {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? null,
    totalMemMiB: Math.round(totalmem() / 1048576),
    loadavgStart: loadavg(),
  };
}

/** Notes for a run whose addon or HEAD changed while it ran. */
export function driftNotes(env) {
  const after = gitInfo();
  const notes = [];
  if (after.addonBuilt !== env.addonBuilt) {
    notes.push(`the native addon was rebuilt during the run (${env.addonBuilt} → ${after.addonBuilt}): later native rows ran another build; run again`);
  }
  if (after.gitCommit !== env.gitCommit) notes.push(`HEAD moved during the run (${env.gitCommit} → ${after.gitCommit})`);
  return notes;
}
