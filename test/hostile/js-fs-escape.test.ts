// Issue 21 items 2 and 3 on the JS backend as it runs here: on Linux every
// path call acts on a name inside a directory held by descriptor. The cases
// (and what each attack did before) are in js-fs-cases.ts.
import { jsFsEscapeSuite } from './js-fs-cases.js';

jsFsEscapeSuite(process.platform === 'linux' ? 'descriptor-relative' : 'portable');
