// What CI must run cannot skip silently: a test that would skip for want of
// something (the native addon, a cargo feature) throws instead under CI=true.
// MIMOBOX_RELEASE_BINARY=1 says a leg tests a published binary on purpose,
// which has no development-only features (test-hooks).

export const UNDER_CI = process.env.CI === 'true';
export const RELEASE_BINARY = process.env.MIMOBOX_RELEASE_BINARY === '1';

/** Throws under CI when `present` is false; otherwise says why the suite skips. */
export function requiredUnderCi(present: boolean, what: string): void {
  if (present) return;
  if (UNDER_CI) throw new Error(`${what}: CI must run it`);
  console.warn(`skipped: ${what}`);
}
