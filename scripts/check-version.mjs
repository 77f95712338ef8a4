// The release's first check (release.yml, job `version`; also run by
// .ci/run): package.json, Cargo.toml and every npm/<platform>/package.json
// carry one version, and a release tag, when given, is `v<that version>`.
// `npm version <x.y.z>` bumps package.json and (through the `version` script,
// `napi version`) the platform packages; Cargo.toml is bumped by hand
// (docs/distribution.md, "Releasing").
//   RELEASE_TAG=v1.2.3 node scripts/check-version.mjs
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..');

/** Every place a version is written, as [where, version]. */
export function versions(root = ROOT) {
  const out = [['package.json', JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version]];
  const cargo = readFileSync(join(root, 'Cargo.toml'), 'utf8');
  const pkgSection = /^\[package\]([\s\S]*?)(?=^\[)/m.exec(cargo)?.[1] ?? '';
  out.push(['Cargo.toml', /^version\s*=\s*"([^"]+)"/m.exec(pkgSection)?.[1]]);
  for (const dir of readdirSync(join(root, 'npm')).sort()) {
    const manifest = join('npm', dir, 'package.json');
    out.push([manifest, JSON.parse(readFileSync(join(root, manifest), 'utf8')).version]);
  }
  return out;
}

/** What is wrong, as sentences; empty when the versions agree (and match the tag). */
export function versionProblems(found, tag) {
  const problems = [];
  const [, expected] = found[0];
  for (const [where, version] of found) {
    if (version !== expected) problems.push(`${where} has version ${version}, package.json has ${expected}`);
  }
  if (tag && tag !== `v${expected}`) {
    problems.push(
      `the tag ${tag} does not match package.json's version ${expected}: run \`npm version ${tag.replace(/^v/, '')}\`, ` +
        'bump Cargo.toml to match, commit, and tag that commit (docs/distribution.md, "Releasing")',
    );
  }
  return problems;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const found = versions();
  const problems = versionProblems(found, process.env.RELEASE_TAG || undefined);
  if (problems.length > 0) {
    for (const p of problems) console.error(`check-version: ${p}`);
    process.exit(1);
  }
  console.log(`check-version: ${found[0][1]} everywhere (${found.length} manifests)${process.env.RELEASE_TAG ? `; tag ${process.env.RELEASE_TAG} matches` : ''}`);
}
