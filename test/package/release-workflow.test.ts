// The release workflow cannot run here. This checks, against the package
// itself, what would stop a `v*` tag from publishing every target: a target
// without a build or test leg, a platform package missing or with the wrong
// os/cpu/libc, a test leg that skips part of `npm test` (the Rust tests), npm
// provenance refused for want of a matching repository.url, an npm token npm
// never reads, and Rust that cannot compile on Windows or macOS.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
// @ts-expect-error: a plain .mjs script, without type declarations.
import { checkTree, formatFinding } from '../../scripts/check-portable.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const readJson = (...p: string[]) => JSON.parse(readFileSync(join(ROOT, ...p), 'utf8')) as Record<string, unknown>;

interface Manifest {
  name: string;
  version: string;
  napi: { binaryName: string; targets: string[] };
  scripts: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  files: string[];
  repository?: { type?: string; url?: string } | string;
  homepage?: string;
  bugs?: { url?: string } | string;
}
const pkg = readJson('package.json') as unknown as Manifest;

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  shell?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  name?: string;
  if?: string;
  needs?: string | string[];
  'runs-on': string;
  env?: Record<string, string>;
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

/** What npm and napi make of a Rust target triple. */
function platformOf(triple: string): { os: string; cpu: string; libc?: string; suffix: string } {
  const cpu = ({ x86_64: 'x64', aarch64: 'arm64' } as Record<string, string>)[triple.split('-')[0] as string];
  if (!cpu) throw new Error(`unknown arch in ${triple}`);
  if (triple.endsWith('-apple-darwin')) return { os: 'darwin', cpu, suffix: `darwin-${cpu}` };
  if (triple.endsWith('-pc-windows-msvc')) return { os: 'win32', cpu, suffix: `win32-${cpu}-msvc` };
  const abi = /-linux-(gnu|musl)$/.exec(triple)?.[1];
  if (!abi) throw new Error(`unknown platform in ${triple}`);
  return { os: 'linux', cpu, libc: abi === 'gnu' ? 'glibc' : 'musl', suffix: `linux-${cpu}-${abi}` };
}

const TARGETS = [
  'x86_64-unknown-linux-gnu',
  'aarch64-unknown-linux-gnu',
  'x86_64-unknown-linux-musl',
  'aarch64-unknown-linux-musl',
  'x86_64-apple-darwin',
  'aarch64-apple-darwin',
  'x86_64-pc-windows-msvc',
];

const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);
const allRuns = (job: Job) => job.steps.map((s) => s.run ?? '').join('\n');
const stepRunning = (job: Job, re: RegExp) => job.steps.find((s) => s.run !== undefined && re.test(s.run));
/** `npm test` as a command of its own (not `npm run test:js`, not `npm test:x`). */
const NPM_TEST = /(^|&&|;|\n)\s*npm test\s*($|&&|;|\n)/;

const mwLegs = () =>
  (wf.jobs['test-macos-windows']!.strategy!.matrix as { settings: { host: string; target: string; architecture: string }[] }).settings;
const linuxLegs = () => (wf.jobs['test-linux']!.strategy!.matrix as { target: string[] }).target;

describe('release workflow: targets, packages, legs', () => {
  test('parses as YAML, with the expected jobs', () => {
    expect(wf.name).toBe('Release');
    expect(Object.keys(wf.jobs).sort()).toEqual(['build', 'lint', 'publish', 'test-linux', 'test-macos-windows', 'version']);
    expect(wf.env.APP_NAME).toBe(pkg.napi.binaryName);
  });

  test('package.json napi.targets are the supported targets, aarch64 musl included', () => {
    expect([...pkg.napi.targets].sort()).toEqual([...TARGETS].sort());
  });

  test('each napi target has its npm/<platform> package, with the os, cpu and libc npm selects it by', () => {
    const dirs = readdirSync(join(ROOT, 'npm')).sort();
    expect(dirs).toEqual(pkg.napi.targets.map((t) => platformOf(t).suffix).sort());
    for (const target of pkg.napi.targets) {
      const { os, cpu, libc, suffix } = platformOf(target);
      const p = readJson('npm', suffix, 'package.json');
      const file = `${pkg.napi.binaryName}.${suffix}.node`;
      expect(p, suffix).toMatchObject({ name: `${pkg.name}-${suffix}`, version: pkg.version, main: file, files: [file] });
      expect(p.os, suffix).toEqual([os]);
      expect(p.cpu, suffix).toEqual([cpu]);
      expect(p.libc, suffix).toEqual(libc === undefined ? undefined : [libc]);
      expect(existsSync(join(ROOT, 'npm', suffix, 'README.md')), suffix).toBe(true);
    }
  });

  test('the build matrix covers every napi target, each on a runner that can build it', () => {
    const settings = (wf.jobs.build!.strategy!.matrix as { settings: { host: string; target: string; build: string }[] }).settings;
    expect(settings.map((s) => s.target).sort()).toEqual([...pkg.napi.targets].sort());
    for (const s of settings) {
      expect(s.build, s.target).toContain('npm run build:native -- ');
      expect(s.build, s.target).toContain(`--target ${s.target}`);
      const { os } = platformOf(s.target);
      expect(s.host, s.target).toMatch({ linux: /^ubuntu-/, darwin: /^macos-/, win32: /^windows-/ }[os]!);
      // As the napi-rs template: glibc targets with the napi cross toolchain (old glibc), musl with zig.
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
    // The panic test hook (cargo feature test-hooks) is for development builds only.
    expect(pkg.scripts['build:native']).not.toContain('test-hooks');
    expect(JSON.stringify(wf)).not.toContain('test-hooks');
  });

  test('the MSVC build links the C runtime statically (.cargo/config.toml, as the napi-rs template)', () => {
    const config = readFileSync(join(ROOT, '.cargo', 'config.toml'), 'utf8');
    expect(config).toMatch(/\[target\.x86_64-pc-windows-msvc\]\s*\nrustflags = \["-C", "target-feature=\+crt-static"\]/);
  });

  test('every target has a test leg on its own OS and CPU, which downloads its binary', () => {
    expect([...mwLegs().map((s) => s.target), ...linuxLegs()].sort()).toEqual([...pkg.napi.targets].sort());
    for (const leg of mwLegs()) {
      const { os, cpu } = platformOf(leg.target);
      expect(leg.host, leg.target).toMatch(os === 'win32' ? /^windows-/ : /^macos-/);
      expect(leg.architecture, leg.target).toBe(cpu);
      // The Rust tests run wasmtime's JIT code and its trap signals: on the real CPU, not Rosetta.
      if (leg.target === 'x86_64-apple-darwin') expect(leg.host).toMatch(/^macos-(\d+-intel|13)$/);
    }
    const linux = wf.jobs['test-linux']!;
    expect(linux['runs-on']).toBe("${{ contains(matrix.target, 'aarch64') && 'ubuntu-24.04-arm' || 'ubuntu-latest' }}");
    expect(linux.env?.IMAGE).toBe("node:${{ matrix.node }}-${{ endsWith(matrix.target, '-musl') && 'alpine' || 'slim' }}");
    expect(linux.env?.PLATFORM).toBe("linux/${{ startsWith(matrix.target, 'aarch64') && 'arm64' || 'amd64' }}");
    for (const job of [wf.jobs['test-macos-windows']!, linux]) {
      expect(needsOf(job)).toEqual(['build']);
      const download = job.steps.find((s) => s.uses?.startsWith('actions/download-artifact'))!;
      expect(String(download.with?.name)).toMatch(/^bindings-\$\{\{ matrix\.(settings\.)?target \}\}$/);
      expect(download.with?.path).toBe('.');
      // The floor package.json promises (engines), and the LTS lines after it.
      const nodes = (job.strategy!.matrix as { node: string[] }).node;
      expect(nodes).toEqual(['20.16', '22', '24']);
      expect(`>=${nodes[0]}`).toBe((readJson('package.json').engines as { node: string }).node);
    }
  });

  test('every test leg runs scripts/ci-test.sh (what .ci/run runs), with CI set and the release binary named', () => {
    // What the script does on each OS is tested by running it: test/package/ci-test-script.test.ts.
    expect(pkg.scripts.test).toMatch(/^npm run test:rust && .*npm run test:js$/);
    expect(readFileSync(join(ROOT, 'scripts', 'ci-test.sh'), 'utf8').trimEnd().split('\n').filter((l) => /^npm /.test(l)).at(-1)).toBe('npm test');
    // macOS and Windows: on the runner, after the binary is downloaded.
    const mw = wf.jobs['test-macos-windows']!;
    const step = stepRunning(mw, /^bash scripts\/ci-test\.sh$/)!;
    expect(step, 'ci-test step').toBeDefined();
    expect(step.shell).toBe('bash');
    expect(step.env).toEqual({ CI: 'true', MIMOBOX_RELEASE_BINARY: '1' });
    const order = mw.steps.map((s) => s.run ?? s.uses ?? '');
    const at = (re: RegExp) => order.findIndex((x) => re.test(x));
    expect(at(/^actions\/download-artifact/)).toBeLessThan(at(/ci-test\.sh/));
    expect(mw.steps.find((s) => s.uses?.startsWith('actions/setup-python'))).toBeDefined();
    expect(mw.steps.find((s) => s.uses?.startsWith('dtolnay/rust-toolchain'))).toBeDefined();
    // Linux: inside the container, CI forwarded (Docker passes no environment by itself).
    const docker = stepRunning(wf.jobs['test-linux']!, /docker run/)!;
    expect(docker.run).toMatch(/--platform "\$PLATFORM"/);
    expect(docker.run).toMatch(/ -e CI=true /);
    expect(docker.run).toMatch(/ -e MIMOBOX_RELEASE_BINARY=1 /);
    expect(docker.run).toMatch(/exec bash scripts\/ci-test\.sh'$/);
    for (const job of [mw, wf.jobs['test-linux']!]) expect(allRuns(job)).not.toMatch(/test:js|npm test/);
  });

  test('no test leg can pass without running: no continue-on-error, no job-level if, on any job but publish', () => {
    for (const [name, job] of Object.entries(wf.jobs)) {
      const raw = job as unknown as Record<string, unknown>;
      expect(raw['continue-on-error'], name).toBeUndefined();
      for (const step of job.steps) expect((step as Record<string, unknown>)['continue-on-error'], `${name}: ${step.name}`).toBeUndefined();
      if (name !== 'publish') expect(job.if, name).toBeUndefined();
    }
    // The test legs' matrices never fail fast into a skipped leg either.
    for (const name of ['test-linux', 'test-macos-windows']) {
      expect((wf.jobs[name]!.strategy as unknown as { 'fail-fast': boolean })['fail-fast'], name).toBe(false);
    }
  });

  test('lint runs clippy (-D warnings), the portability check and tsc on Linux, macOS and Windows', () => {
    const lint = wf.jobs.lint!;
    expect((lint.strategy!.matrix as { host: string[] }).host.map((h) => h.split('-')[0]).sort()).toEqual(['macos', 'ubuntu', 'windows']);
    expect(lint['runs-on']).toBe('${{ matrix.host }}');
    expect(lint.steps.find((s) => s.uses?.startsWith('dtolnay/rust-toolchain'))?.with?.components).toContain('clippy');
    // Every job's Rust is the toolchain rust-toolchain.toml pins (clippy's lints move between releases).
    const channel = /^channel = "([^"]+)"$/m.exec(readFileSync(join(ROOT, 'rust-toolchain.toml'), 'utf8'))?.[1];
    expect(channel).toMatch(/^1\.\d+\.\d+$/);
    for (const [name, job] of Object.entries(wf.jobs)) {
      for (const step of job.steps.filter((st) => st.uses?.startsWith('dtolnay/rust-toolchain'))) {
        expect(step.with?.toolchain, name).toBe(channel);
      }
    }
    // Cargo.toml's rust-version is that toolchain's minor version.
    expect(readFileSync(join(ROOT, 'Cargo.toml'), 'utf8')).toContain(`rust-version = "${channel!.split('.').slice(0, 2).join('.')}"`);
    expect(stepRunning(lint, /^npm run lint$/)).toBeDefined();
    expect(pkg.scripts.lint).toMatch(/^node scripts\/check-portable\.mjs && node scripts\/check-module-graph\.mjs && node scripts\/binding-types\.mjs && cargo clippy --release --all-targets -- -D warnings && tsc /);
  });
});

describe('release workflow: publishing', () => {
  test('publish runs only on v* tags, after lint and every test job, through napi', () => {
    expect(wf.on.push.tags).toEqual(['v*']);
    const publish = wf.jobs.publish!;
    expect(publish.if).toMatch(/startsWith\(github\.ref, 'refs\/tags\/v'\)/);
    expect(needsOf(publish).sort()).toEqual(['lint', 'test-linux', 'test-macos-windows', 'version']);
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
  });

  test('the version and tag are checked first, before anything builds', async () => {
    const version = wf.jobs.version!;
    expect(needsOf(version)).toEqual([]);
    const step = stepRunning(version, /^node scripts\/check-version\.mjs$/)!;
    expect(step.env?.RELEASE_TAG).toBe("${{ startsWith(github.ref, 'refs/tags/v') && github.ref_name || '' }}");
    // Every other job waits for it, directly or through the jobs it needs.
    const reaches = (name: string): boolean => name === 'version' || needsOf(wf.jobs[name]!).some(reaches);
    for (const name of Object.keys(wf.jobs)) expect(reaches(name), name).toBe(true);
    expect(needsOf(wf.jobs.build!)).toEqual(['version']);
    expect(needsOf(wf.jobs.lint!)).toEqual(['version']);
    // What the check does: a tag that is not v<package.json version> fails, with the steps to fix it.
    // @ts-expect-error: a plain .mjs script, without type declarations.
    const { versions, versionProblems } = await import('../../scripts/check-version.mjs');
    const found = (versions as () => [string, string][])();
    expect(found.map(([where]) => where)).toEqual(expect.arrayContaining(['package.json', 'Cargo.toml']));
    const problems = versionProblems as (f: [string, string][], tag?: string) => string[];
    expect(problems(found)).toEqual([]);
    expect(problems(found, `v${pkg.version}`)).toEqual([]);
    expect(problems(found, 'v999.0.0').join()).toMatch(/does not match .*npm version 999\.0\.0/);
    expect(problems([...found, ['npm/x/package.json', '9.9.9']]).join()).toMatch(/npm\/x\/package\.json has version 9\.9\.9/);
  });

  test('provenance is on, with the permission to sign it and a token npm actually reads', () => {
    const publish = wf.jobs.publish!;
    // id-token signs the provenance; contents: write lets napi prepublish create the GitHub release.
    expect(publish.permissions).toEqual({ contents: 'write', 'id-token': 'write' });
    expect(wf.jobs.build!.permissions).toBeUndefined(); // the workflow default: contents: read
    const step = stepRunning(publish, /npm publish/)!;
    expect(step.run).toMatch(/npm config set provenance true/); // also reaches napi prepublish's own npm publish
    for (const line of step.run!.split('\n').filter((l) => /npm publish/.test(l))) expect(line).toMatch(/--provenance/);
    // setup-node's registry-url makes npm read $RUNNER_TEMP/.npmrc, whose token is ${NODE_AUTH_TOKEN}.
    const setup = publish.steps.find((s) => s.uses?.startsWith('actions/setup-node'))!;
    expect(setup.with?.['registry-url']).toBe('https://registry.npmjs.org');
    expect(step.env).toMatchObject({ NODE_AUTH_TOKEN: '${{ secrets.NPM_TOKEN }}', GITHUB_TOKEN: '${{ secrets.GITHUB_TOKEN }}' });
    expect(step.run).not.toMatch(/~\/\.npmrc/);
  });

  test('every manifest names the same GitHub repository, which the publish job checks against the running one', () => {
    const manifests: [string, Manifest][] = [
      ['package.json', pkg],
      ...pkg.napi.targets.map((t): [string, Manifest] => {
        const f = join('npm', platformOf(t).suffix, 'package.json');
        return [f, readJson(f) as unknown as Manifest];
      }),
    ];
    const root = pkg.repository as { type: string; url: string };
    expect(root.type).toBe('git');
    const m = /^git\+https:\/\/github\.com\/([\w.-]+)\/([\w.-]+)\.git$/.exec(root.url);
    expect(m, root.url).not.toBeNull();
    const web = `https://github.com/${m![1]}/${m![2]}`;
    expect(m![2]).toBe(pkg.name);
    for (const [file, manifest] of manifests) {
      expect(manifest.repository, file).toEqual(root);
      expect(manifest.homepage, file).toBe(`${web}#readme`);
      expect(manifest.bugs, file).toEqual({ url: `${web}/issues` });
    }
    const check = stepRunning(wf.jobs.publish!, /GITHUB_REPOSITORY/)!;
    expect(check.run).toContain('expected="git+https://github.com/${GITHUB_REPOSITORY}.git"');
    expect(check.run).toContain('for manifest in package.json npm/*/package.json');
    const runs = allRuns(wf.jobs.publish!);
    expect(runs.indexOf('GITHUB_REPOSITORY')).toBeLessThan(runs.indexOf('npm publish'));
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

  test('third-party actions are pinned by commit SHA (a tag can be moved; a commit cannot)', () => {
    const workflows = readdirSync(join(ROOT, '.github', 'workflows')).filter((f) => /\.ya?ml$/.test(f));
    expect(workflows).toEqual(expect.arrayContaining(['release.yml', 'audit.yml']));
    for (const file of workflows) {
      const w = parse(readFileSync(join(ROOT, '.github', 'workflows', file), 'utf8')) as Workflow;
      for (const [name, job] of Object.entries(w.jobs)) {
        for (const step of job.steps) if (step.uses) expect(step.uses, `${file}: ${name}`).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
      }
    }
  });
});

describe('release workflow: the Rust compiles on every OS', () => {
  // Fails until src-rs has no Unix-only code outside #[cfg(unix)] (issue 16):
  // the Windows build leg would fail, and publish never run.
  test('no platform-specific Rust outside a cfg guard (scripts/check-portable.mjs)', () => {
    const findings = (checkTree as (dir: string) => unknown[])(join(ROOT, 'src-rs'));
    expect(findings.map((f) => (formatFinding as (f: unknown, root: string) => string)(f, ROOT))).toEqual([]);
  });
});
