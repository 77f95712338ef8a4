// Builds hostile modules byte by byte for the native backend's hostile tests (no toolchain):
// a function with many live locals, many GC-reference globals, wide struct types.

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, body: number[] | Uint8Array): Uint8Array {
  const content = body instanceof Uint8Array ? body : Uint8Array.from(body);
  return Buffer.concat([Uint8Array.from([id, ...uleb(content.length)]), content]);
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const FUNC_VOID = [0x60, 0x00, 0x00];
const EXPORT_START = [...uleb(6), ...Buffer.from('_start'), 0x00, 0x00];

function bytes(parts: (number[] | Uint8Array)[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)))));
}

/**
 * `_start` (and `funcs - 1` more functions like it) with `locals` i32 locals all live through `rounds` rounds of `local_i += local_{i+1}`;
 * `salt` changes a constant so each call builds a distinct module (no cache hit).
 */
export function manyLocalsModule(locals: number, rounds: number, salt = 0, funcs = 1): Uint8Array {
  const body: number[] = [...uleb(1), ...uleb(locals), 0x7f];
  for (let i = 0; i < locals; i++) body.push(0x41, ...sleb(i + salt), 0x21, ...uleb(i));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < locals; i++) {
      body.push(0x20, ...uleb(i), 0x20, ...uleb((i + 1) % locals), 0x6a, 0x21, ...uleb(i));
    }
  }
  body.push(0x0b);
  const code = Buffer.concat([Uint8Array.from(uleb(body.length)), Uint8Array.from(body)]);
  const codes = Buffer.concat([Uint8Array.from(uleb(funcs)), ...Array.from({ length: funcs }, () => code)]);
  return bytes([
    HEADER,
    section(1, vec([FUNC_VOID])),
    section(3, vec(Array.from({ length: funcs }, () => [0x00]))),
    section(7, vec([EXPORT_START])),
    section(10, codes),
  ]);
}

/** `count` mutable `anyref` (nullable) globals, each read once in `_start`. */
export function gcGlobalsModule(count: number): Uint8Array {
  const globals = Array.from({ length: count }, () => [0x6e, 0x01, 0xd0, 0x6e, 0x0b]);
  const body: number[] = [0x00];
  for (let i = 0; i < count; i++) body.push(0x23, ...uleb(i), 0x1a);
  body.push(0x0b);
  return bytes([
    HEADER,
    section(1, vec([FUNC_VOID])),
    section(3, vec([[0x00]])),
    section(6, vec(globals)),
    section(7, vec([EXPORT_START])),
    section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

/** `types` struct types of `fields` mutable i32 fields each, and an empty `_start`. */
export function structTypesModule(types: number, fields: number): Uint8Array {
  const struct = [0x5f, ...uleb(fields), ...Array.from({ length: fields }, () => [0x7f, 0x01]).flat()];
  const typeList = [FUNC_VOID, ...Array.from({ length: types }, () => struct)];
  return bytes([
    HEADER,
    section(1, vec(typeList)),
    section(3, vec([[0x00]])),
    section(7, vec([EXPORT_START])),
    section(10, vec([[...uleb(2), 0x00, 0x0b]])),
  ]);
}

/** `pages` of linear memory and a `_start` that allocates a GC byte array of `size` bytes and keeps it in a global. */
export function gcArrayModule(pages: number, size: number): Uint8Array {
  const arrayOfI8 = [0x5e, 0x78, 0x01];
  const global = [0x63, 0x00, 0x01, 0xd0, 0x00, 0x0b];
  const body = [0x00, 0x41, ...sleb(size), 0xfb, 0x07, 0x00, 0x24, 0x00, 0x0b];
  return bytes([
    HEADER,
    section(1, vec([arrayOfI8, FUNC_VOID])),
    section(3, vec([[0x01]])),
    section(5, vec([[0x00, ...uleb(pages)]])),
    section(6, vec([global])),
    section(7, vec([EXPORT_START])),
    section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

