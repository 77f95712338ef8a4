// Issue 21 items 2 and 3 on the JS backend's portable path (what macOS and
// Windows take, having no /proc/self/fd): a directory is named by its path,
// checked against its descriptor's device and inode, with every path call of
// the process's guests under one lock. Forced here with MIMOBOX_JS_FS_PORTABLE,
// which the guest threads read when they first touch a file; this file runs
// in a process of its own (vitest's forks pool), so no thread made before sees
// another setting.
import { afterAll } from 'vitest';
import { jsFsEscapeSuite } from './js-fs-cases.js';

const before = process.env.MIMOBOX_JS_FS_PORTABLE;
process.env.MIMOBOX_JS_FS_PORTABLE = '1';
afterAll(() => {
  if (before === undefined) delete process.env.MIMOBOX_JS_FS_PORTABLE;
  else process.env.MIMOBOX_JS_FS_PORTABLE = before;
});

jsFsEscapeSuite('portable');
