// Input checks both backends make before running: typed ModuleErrors for bad
// modules, ConfigErrors for bad config, command and options.
import { closeSync, mkdirSync, openSync, ftruncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ConfigError, ModuleError, createSandbox, type SandboxConfig } from '../../dist/esm/index.js';
import { BACKENDS } from './backends.js';
import { runOnce, tempDir, wat } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

async function moduleError(backend: (typeof BACKENDS)[number], path: string): Promise<ModuleError> {
  try {
    await runOnce(backend, [path]);
  } catch (e) {
    expect(e).toBeInstanceOf(ModuleError);
    return e as ModuleError;
  }
  throw new Error(`expected a ModuleError for ${path}`);
}

describe.each(BACKENDS)('module errors [%s]', (backend) => {
  test('missing file → MODULE_NOT_FOUND naming the path', async () => {
    const p = join(tmp.path, 'nope.wasm');
    const e = await moduleError(backend, p);
    expect(e.code).toBe('MODULE_NOT_FOUND');
    expect(e.message).toContain(p);
  });

  test('a directory → MODULE_NOT_FOUND saying it is a directory', async () => {
    const e = await moduleError(backend, tmp.path);
    expect(e.code).toBe('MODULE_NOT_FOUND');
    expect(e.message).toMatch(/directory/);
  });

  test('invalid bytes → MODULE_INVALID', async () => {
    const p = join(tmp.path, 'junk.wasm');
    writeFileSync(p, 'this is not wasm at all');
    const e = await moduleError(backend, p);
    expect(e.code).toBe('MODULE_INVALID');
    expect(e.message).toContain(p);
  });

  test('file over the default 256 MiB → MODULE_TOO_LARGE', async () => {
    const p = join(tmp.path, 'huge.wasm');
    const fd = openSync(p, 'w');
    ftruncateSync(fd, 256 * 1024 * 1024 + 1); // sparse: no disk used
    closeSync(fd);
    const e = await moduleError(backend, p);
    expect(e.code).toBe('MODULE_TOO_LARGE');
  });

  test('no _start and no main → NO_ENTRY', async () => {
    const e = await moduleError(backend, wat('no_entry'));
    expect(e.code).toBe('NO_ENTRY');
    expect(e.message).toContain('module has no _start or main export');
  });

  test('import the host does not provide → IMPORT_MISSING naming it', async () => {
    const e = await moduleError(backend, wat('import_missing'));
    expect(e.code).toBe('IMPORT_MISSING');
    expect(e.message).toContain('env.not_provided');
  });

  test('relative module path resolves against the process cwd', async () => {
    const rel = join('test', 'guests', 'wat', 'hello.wasm');
    const prev = process.cwd();
    process.chdir(join(import.meta.dirname, '..', '..'));
    try {
      const r = await runOnce(backend, [rel]);
      expect(r.stdout.toString()).toBe('hello, world\n');
    } finally {
      process.chdir(prev);
    }
  });
});

describe.each(BACKENDS)('config errors [%s]', (backend) => {
  const bad = (config: unknown): ConfigError => {
    try {
      createSandbox(config as SandboxConfig, { backend });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error('expected a ConfigError');
  };

  test('unknown key', () => expect(bad({ memoryLimitMB: 5 }).field).toBe('memoryLimitMB'));
  test('negative limit', () => expect(bad({ memoryLimitMb: -1 }).field).toBe('memoryLimitMb'));
  test('inline that is not a boolean', () => expect(bad({ inline: 'yes' }).field).toBe('inline'));
  test('relative dir', () => expect(bad({ fsReadonly: ['relative/dir'] }).code).toBe('CONFIG_INVALID'));
  test('missing dir', () => expect(bad({ fsReadwrite: [join(tmp.path, 'missing')] }).code).toBe('DIR_NOT_FOUND'));
  test('bad command', async () => {
    const sb = createSandbox({}, { backend });
    try {
      await expect(sb.execute([] as string[])).rejects.toMatchObject({ code: 'COMMAND_INVALID' });
      await expect(sb.execute(['x\0y'])).rejects.toMatchObject({ code: 'COMMAND_INVALID' });
      await expect(sb.execute([wat('hello')], { env: { 'A=B': 'x' } })).rejects.toBeInstanceOf(ConfigError);
      await expect(sb.execute([wat('hello')], { stdin: 42 as unknown as string })).rejects.toBeInstanceOf(ConfigError);
    } finally {
      await sb.destroy();
    }
  });
});

describe.skipIf(!BACKENDS.includes('js'))('js-only config', () => {
  test('fuel: N on the js backend meters (fuel.test.ts compares the counts with native)', async () => {
    const r = await runOnce('js', [wat('hello')], { fuel: 1_000_000 });
    expect(r.exitCode).toBe(0);
    expect(r.fuelConsumed).toBe(7);
  });

  test('fuel unset on the js backend does not meter', async () => {
    const r = await runOnce('js', [wat('hello')]);
    expect(r.fuelConsumed).toBeUndefined();
  });

  test('fuel: null (metering off) is accepted: the js backend never meters', async () => {
    const r = await runOnce('js', [wat('hello')], { fuel: null });
    expect(r.exitCode).toBe(0);
    expect(r.fuelConsumed).toBeUndefined();
  });

  test('ignored config fields become warnings', async () => {
    const r = await runOnce('js', [wat('hello')], { denyNetwork: false, allowFork: true });
    expect(r.warnings.length).toBe(2);
  });
});

mkdirSync(join(tmp.path, 'sub'), { recursive: true });
