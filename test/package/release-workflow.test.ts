// The release workflow cannot run here; this keeps it consistent with the
// package: valid YAML, every napi target built on a suitable runner (or
// cross-compiled the way the napi-rs package template does), tested, and a
// tag-gated publish that goes through `napi artifacts` / `napi prepublish`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  napi: { binaryName: string; targets: string[] };
  scripts: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  files: string[];
};

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  name?: string;
  if?: string;
  needs?: string | string[];
  'runs-on': string;
  strategy?: { matrix: Record<string, unknown> };
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  name: string;
  env: Record<string, string>;
  on: { push: { tags?: string[]; branches?: string[] }; pull_request?: unknown };
  jobs: Record<string, Job>;
}

const text = readFileSync(join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8');
const wf = parse(text, { strict: true, uniqueKeys: true }) as Workflow;

const SIX = [
  'x86_64-unknown-linux-gnu',
  'aarch64-unknown-linux-gnu',
  'x86_64-unknown-linux-musl',
  'x86_64-apple-darwin',
  'aarch64-apple-darwin',
  'x86_64-pc-windows-msvc',
];
/** napi's package suffix for a target triple (as `napi create-npm-dirs` names npm/<suffix>). */
const SUFFIX: Record<string, string> = {
  'x86_64-unknown-linux-gnu': 'linux-x64-gnu',
  'aarch64-unknown-linux-gnu': 'linux-arm64-gnu',
  'x86_64-unknown-linux-musl': 'linux-x64-musl',
  'x86_64-apple-darwin': 'darwin-x64',
  'aarch64-apple-darwin': 'darwin-arm64',
  'x86_64-pc-windows-msvc': 'win32-x64-msvc',
};

const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);
const allRuns = (job: Job) => job.steps.map((s) => s.run ?? '').join('\n');

describe('release workflow', () => {
  test('parses as YAML, with the expected jobs', () => {
    expect(wf.name).toBe('Release');
    expect(Object.keys(wf.jobs).sort()).toEqual(['build', 'publish', 'test-linux', 'test-macos-windows']);
    expect(wf.env.APP_NAME).toBe(pkg.napi.binaryName);
  });

  test('package.json napi.targets are the six supported targets', () => {
    expect([...pkg.napi.targets].sort()).toEqual([...SIX].sort());
  });

  test('the build matrix covers every napi target, each on a runner that can build it', () => {
    const settings = (wf.jobs.build!.strategy!.matrix as { settings: { host: string; target: string; build: string }[] }).settings;
    expect(settings.map((s) => s.target).sort()).toEqual([...pkg.napi.targets].sort());
    for (const s of settings) {
      expect(s.build, s.target).toContain('npm run build:native -- ');
      expect(s.build, s.target).toContain(`--target ${s.target}`);
      if (s.target.includes('linux')) expect(s.host, s.target).toMatch(/^ubuntu-/);
      if (s.target.includes('apple')) expect(s.host, s.target).toMatch(/^macos-/);
      if (s.target.includes('windows')) expect(s.host, s.target).toMatch(/^windows-/);
      // As the napi-rs template: glibc targets with the napi cross toolchain, musl with zig.
      if (s.target.endsWith('linux-gnu')) expect(s.build, s.target).toMatch(/--use-napi-cross$/);
      if (s.target.endsWith('musl')) expect(s.build, s.target).toMatch(/ -x$/);
    }
    const steps = wf.jobs.build!.steps;
    expect(steps.find((s) => s.uses?.startsWith('mlugg/setup-zig'))?.if).toContain("contains(matrix.settings.target, 'musl')");
    expect(steps.find((s) => s.with?.tool === 'cargo-zigbuild')?.if).toContain('musl');
    expect(steps.find((s) => s.uses?.startsWith('dtolnay/rust-toolchain'))?.with?.targets).toBe('${{ matrix.settings.target }}');
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
    expect(upload.with).toMatchObject({ name: 'bindings-${{ matrix.settings.target }}', 'if-no-files-found': 'error' });
    expect(upload.with?.path).toBe('${{ env.APP_NAME }}.*.node');
    // The install script would start a host build: dependencies are installed without scripts.
    expect(allRuns(wf.jobs.build!)).toContain('npm ci --ignore-scripts');
    expect(pkg.scripts['build:native']).toMatch(/^napi build --platform --release/);
  });

  test('every target is tested on its own platform with the downloaded binary', () => {
    const mw = wf.jobs['test-macos-windows']!;
    const linux = wf.jobs['test-linux']!;
    const mwTargets = (mw.strategy!.matrix as { settings: { target: string; host: string }[] }).settings.map((s) => s.target);
    const linuxTargets = (linux.strategy!.matrix as { target: string[] }).target;
    expect([...mwTargets, ...linuxTargets].sort()).toEqual([...SIX].sort());
    for (const job of [mw, linux]) {
      expect(needsOf(job)).toEqual(['build']);
      const download = job.steps.find((s) => s.uses?.startsWith('actions/download-artifact'))!;
      expect(String(download.with?.name)).toMatch(/^bindings-\$\{\{ matrix\.(settings\.)?target \}\}$/);
      expect(download.with?.path).toBe('.');
    }
    expect(allRuns(mw)).toContain('npm run test:js');
    const docker = linux.steps.find((s) => s.uses?.startsWith('addnab/docker-run-action'))!;
    expect(String(docker.with?.run)).toContain('npm run test:js');
    expect(linux['runs-on']).toContain('ubuntu-24.04-arm');
    const params = linux.steps.find((s) => s.id === 'docker' || s.name === 'Output docker params')!.run!;
    expect(params).toContain('-alpine'); // musl is tested on musl
    expect(params).toContain('linux/arm64');
    expect(pkg.scripts['test:js']).toBeDefined();
  });

  test('publish runs only on v* tags, after every test job, through napi', () => {
    expect(wf.on.push.tags).toEqual(['v*']);
    const publish = wf.jobs.publish!;
    expect(publish.if).toMatch(/startsWith\(github\.ref, 'refs\/tags\/v'\)/);
    expect(needsOf(publish).sort()).toEqual(['test-linux', 'test-macos-windows']);
    expect(publish.permissions).toMatchObject({ contents: 'write', 'id-token': 'write' });
    // No other job publishes.
    for (const [name, job] of Object.entries(wf.jobs)) {
      if (name !== 'publish') expect(allRuns(job), name).not.toMatch(/npm publish|napi prepublish/);
    }
    const runs = allRuns(publish);
    const order = ['npm ci --ignore-scripts', 'npm run build:ts', 'napi create-npm-dirs', 'npm run artifacts', 'npm publish'];
    const positions = order.map((cmd) => runs.indexOf(cmd));
    for (const [i, p] of positions.entries()) expect(p, order[i]).toBeGreaterThanOrEqual(0);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    const download = publish.steps.find((s) => s.uses?.startsWith('actions/download-artifact'))!;
    expect(download.with).toEqual({ path: 'artifacts' }); // where `napi artifacts` looks by default
    const step = publish.steps.find((s) => s.run?.includes('npm publish'))!;
    expect(step.env).toMatchObject({ NPM_TOKEN: '${{ secrets.NPM_TOKEN }}', GITHUB_TOKEN: '${{ secrets.GITHUB_TOKEN }}' });
    expect(runs).toMatch(/GITHUB_REF_NAME.*v\$\{version\}/s); // the tag must match package.json
  });

  test('package.json scripts follow the napi-rs conventions the workflow relies on', () => {
    expect(pkg.scripts.artifacts).toBe('napi artifacts');
    expect(pkg.scripts.prepublishOnly).toBe('napi prepublish -t npm');
    // `npm version X` runs this between the bump and the commit: npm/*/package.json follow.
    expect(pkg.scripts.version).toBe('napi version && git add npm');
    // Added at publish time by `napi prepublish`, never in the repository (see docs/distribution.md).
    expect(pkg.optionalDependencies).toBeUndefined();
    expect(pkg.files).not.toContain('npm/');
  });

  test('npm/<platform>/package.json exist for every target, as napi create-npm-dirs writes them', () => {
    expect(readdirSync(join(ROOT, 'npm')).sort()).toEqual(SIX.map((t) => SUFFIX[t]).sort());
    for (const target of SIX) {
      const suffix = SUFFIX[target]!;
      const p = JSON.parse(readFileSync(join(ROOT, 'npm', suffix, 'package.json'), 'utf8')) as Record<string, unknown>;
      const file = `${pkg.napi.binaryName}.${suffix}.node`;
      expect(p, suffix).toMatchObject({ name: `${pkg.name}-${suffix}`, version: pkg.version, main: file, files: [file] });
      const [os, cpu] = suffix.split('-');
      expect(p.os, suffix).toEqual([os]);
      expect(p.cpu, suffix).toEqual([cpu]);
      if (suffix.endsWith('-gnu')) expect(p.libc, suffix).toEqual(['glibc']);
      else if (suffix.endsWith('-musl')) expect(p.libc, suffix).toEqual(['musl']);
      else expect(p.libc, suffix).toBeUndefined();
    }
  });

  test('actions are pinned to a version', () => {
    for (const [name, job] of Object.entries(wf.jobs)) {
      for (const step of job.steps) if (step.uses) expect(step.uses, name).toMatch(/@(v\d+(\.\d+)*|stable)$/);
    }
  });
});
