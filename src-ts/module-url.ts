// The URL of this build's own directory; the CommonJS build replaces this
// file (see scripts/build-ts.mjs) because `import.meta` is ESM-only.
// @ts-ignore TS1343: compiled to CommonJS too, where the build swaps this file.
export const moduleUrl: string = import.meta.url;
