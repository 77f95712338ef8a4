// A minimal reader for the WebAssembly binary format: just the sections the
// JS backend needs to enforce limits (types, imports, tables, memories) and
// to rewrite the memory section. Anything it does not understand makes it
// return `undefined` for that part, never throw past parseModule.

export interface Limits {
  flags: number;
  min: number;
  max: number | undefined;
}

export interface ImportEntry {
  module: string;
  name: string;
  /** 0 func, 1 table, 2 memory, 3 global, 4 tag. */
  kind: number;
  /** For functions: index into `types`. */
  typeIndex?: number;
  /** For tables and memories: their limits (flags say 64-bit addresses). */
  limits?: Limits;
  /** For tables: the element type byte (0x70 funcref, 0x6f externref; others are typed references). */
  elemType?: number;
}

export interface FuncType {
  params: string;
  results: string;
}

export interface SectionSpan {
  /** Offset of the section id byte. */
  start: number;
  /** Offset just past the section's contents. */
  end: number;
  contentStart: number;
}

export interface ModuleLayout {
  /** Function types, or undefined when the type section uses encodings we do not read (GC proposal). */
  types: FuncType[] | undefined;
  imports: ImportEntry[];
  tables: Limits[];
  memories: Limits[];
  memorySection: SectionSpan | undefined;
  /** The table section, when every table in it was read (its element types are in `tableTypes`). */
  tableSection: SectionSpan | undefined;
  /** Element type byte of each table in `tables` (0x70 funcref, 0x6f externref). */
  tableTypes: number[];
  /** Type index of each function the module defines (imported ones come first in the index space). */
  functions: number[];
  exports: ExportEntry[];
}

export interface ExportEntry {
  name: string;
  /** 0 func, 1 table, 2 memory, 3 global, 4 tag. */
  kind: number;
  index: number;
}

class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, pos = 0, readonly end = bytes.length) {
    this.pos = pos;
  }
  byte(): number {
    if (this.pos >= this.end) throw new Error('unexpected end of module');
    return this.bytes[this.pos++] as number;
  }
  /** Unsigned LEB128 up to 64 bits, as a number (exact up to 2^53). */
  leb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error('bad LEB128');
  }
  /** Signed LEB128 up to 33 bits (a heap type), as a number. */
  sleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return b & 0x40 ? result - mul : result;
    }
    throw new Error('bad LEB128');
  }
  name(): string {
    const len = this.leb();
    if (this.pos + len > this.end) throw new Error('name past end');
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, len).toString('utf8');
    this.pos += len;
    return s;
  }
  limits(): Limits {
    const flags = this.byte();
    const min = this.leb();
    const max = flags & 1 ? this.leb() : undefined;
    return { flags, min, max };
  }
}

const VALTYPES: Readonly<Record<number, string>> = {
  0x7f: 'i', 0x7e: 'I', 0x7d: 'f', 0x7c: 'F', 0x7b: 'v', 0x70: 'r', 0x6f: 'x',
  // Other abstract references (exnref, the GC proposal's): one letter each, so
  // a function type that mentions them is still read.
  0x69: 'e', 0x6a: 'a', 0x6b: 's', 0x6c: 'j', 0x6d: 'q', 0x6e: 'n', 0x71: '0', 0x72: '1', 0x73: '2', 0x74: '3',
};
/** (ref ht) and (ref null ht), followed by a heap type: all one letter. */
const TYPED_REF = 'R';

function readTypes(r: Reader): FuncType[] | undefined {
  const count = r.leb();
  const types: FuncType[] = [];
  for (let i = 0; i < count; i++) {
    if (r.byte() !== 0x60) return undefined; // rec/sub types (GC proposal): not needed here
    const vec = (): string | undefined => {
      let s = '';
      const n = r.leb();
      for (let j = 0; j < n; j++) {
        const b = r.byte();
        if (b === 0x63 || b === 0x64) {
          r.sleb();
          s += TYPED_REF;
          continue;
        }
        const t = VALTYPES[b];
        if (t === undefined) return undefined;
        s += t;
      }
      return s;
    };
    const params = vec();
    if (params === undefined) return undefined;
    const results = vec();
    if (results === undefined) return undefined;
    types.push({ params, results });
  }
  return types;
}

function readImports(r: Reader): ImportEntry[] {
  const count = r.leb();
  const out: ImportEntry[] = [];
  for (let i = 0; i < count; i++) {
    const module = r.name();
    const name = r.name();
    const kind = r.byte();
    if (kind === 0) out.push({ module, name, kind, typeIndex: r.leb() });
    else if (kind === 1) {
      const elemType = r.byte();
      if (elemType === 0x63 || elemType === 0x64) throw new Error('typed reference tables are not read');
      out.push({ module, name, kind, elemType, limits: r.limits() });
    } else if (kind === 2) {
      out.push({ module, name, kind, limits: r.limits() });
    } else if (kind === 3) {
      r.byte();
      r.byte();
      out.push({ module, name, kind });
    } else if (kind === 4) {
      r.byte();
      r.leb();
      out.push({ module, name, kind });
    } else throw new Error(`unknown import kind ${kind}`);
  }
  return out;
}

/** The type of function `index` (imports first, then the module's own), when known. */
export function functionType(layout: ModuleLayout, index: number): FuncType | undefined {
  const imported = layout.imports.filter((i) => i.kind === 0);
  const typeIndex = index < imported.length ? imported[index]?.typeIndex : layout.functions[index - imported.length];
  return typeIndex === undefined ? undefined : layout.types?.[typeIndex];
}

/** Reads the layout; returns undefined when the bytes are not a module this reader understands. */
export function parseModule(bytes: Uint8Array): ModuleLayout | undefined {
  try {
    if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) return undefined;
    const r = new Reader(bytes, 8);
    const layout: ModuleLayout = {
      types: [], imports: [], tables: [], memories: [], memorySection: undefined, tableSection: undefined, tableTypes: [],
      functions: [], exports: [],
    };
    while (r.pos < bytes.length) {
      const start = r.pos;
      const id = r.byte();
      const size = r.leb();
      const contentStart = r.pos;
      const end = contentStart + size;
      if (end > bytes.length) return undefined;
      const s = new Reader(bytes, contentStart, end);
      if (id === 1) layout.types = readTypes(s);
      else if (id === 2) layout.imports = readImports(s);
      else if (id === 4) {
        const n = s.leb();
        let complete = true;
        for (let i = 0; i < n; i++) {
          if (s.bytes[s.pos] === 0x40) {
            complete = false; // table with initializer (typed funcref proposal)
            break;
          }
          const type = s.byte();
          if (type !== 0x70 && type !== 0x6f) {
            complete = false; // a typed reference (GC proposal): left as it is
            break;
          }
          layout.tableTypes.push(type);
          layout.tables.push(s.limits());
        }
        if (complete && s.pos === end) layout.tableSection = { start, end, contentStart };
      } else if (id === 3) {
        const n = s.leb();
        for (let i = 0; i < n; i++) layout.functions.push(s.leb());
      } else if (id === 7) {
        const n = s.leb();
        for (let i = 0; i < n; i++) layout.exports.push({ name: s.name(), kind: s.byte(), index: s.leb() });
      } else if (id === 5) {
        const n = s.leb();
        for (let i = 0; i < n; i++) layout.memories.push(s.limits());
        layout.memorySection = { start, end, contentStart };
      }
      r.pos = end;
    }
    return layout;
  } catch {
    return undefined;
  }
}

/** Unsigned LEB128 encoding (shared with instrument.ts). */
export function encodeLeb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

function encodeLimits(m: Limits): number[] {
  const hasMax = m.max !== undefined;
  const out = [hasMax ? m.flags | 1 : m.flags & ~1, ...encodeLeb(m.min)];
  if (hasMax) out.push(...encodeLeb(m.max as number));
  return out;
}

/** Returns a copy of the module with its memory section rewritten to `memories`. */
export function withMemories(bytes: Uint8Array, span: SectionSpan, memories: Limits[]): Uint8Array {
  const body: number[] = [...encodeLeb(memories.length)];
  for (const m of memories) body.push(...encodeLimits(m));
  return replaceSection(bytes, span, 5, body);
}

/** Returns a copy of the module with its table section rewritten (same element types, new limits). */
export function withTables(bytes: Uint8Array, span: SectionSpan, types: number[], tables: Limits[]): Uint8Array {
  const body: number[] = [...encodeLeb(tables.length)];
  tables.forEach((t, i) => body.push(types[i] as number, ...encodeLimits(t)));
  return replaceSection(bytes, span, 4, body);
}

function replaceSection(bytes: Uint8Array, span: SectionSpan, id: number, body: number[]): Uint8Array {
  const section = [id, ...encodeLeb(body.length), ...body];
  const out = new Uint8Array(span.start + section.length + (bytes.length - span.end));
  out.set(bytes.subarray(0, span.start), 0);
  out.set(section, span.start);
  out.set(bytes.subarray(span.end), span.start + section.length);
  return out;
}
