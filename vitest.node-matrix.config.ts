// scripts/node-matrix.sh runs the tests that depend on Node.js itself under
// other Node versions; none of them is a Python test, so the CPython compile
// of the main config's global setup is left out.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({ ...base, test: { ...base.test, globalSetup: [] } });
