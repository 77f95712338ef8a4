// Reads one WebAssembly operator at a time from a function body: its opcode,
// where it ends, and the few immediates the fuel instrumentation needs. Covers
// the MVP, sign extension, saturating truncation, bulk memory, reference
// types, multi-value, tail calls, SIMD, threads and exception handling (the
// legacy try/catch and try_table): what V8 compiles by default. Anything else
// (the GC proposal's 0xfb operators) throws: the caller refuses the module.

export interface Op {
  /** First byte, or the prefix (0xfc, 0xfd, 0xfe). */
  code: number;
  /** The sub-opcode of a prefixed operator. */
  sub: number;
  start: number;
  end: number;
  /** For i32.const / i64.const: the value (i64 as bigint). */
  value?: bigint;
  /** For memory/table bulk operators and grows: the memory or table index (the destination of a copy). */
  index?: number;
  /** For memory.copy/table.copy: the source memory or table; for memory.init/table.init: the segment. */
  other?: number;
}

/** Exception-handling operators: try, catch, throw, rethrow, throw_ref, delegate, catch_all, try_table. */
export const EXCEPTION_OPS: ReadonlySet<number> = new Set([0x06, 0x07, 0x08, 0x09, 0x0a, 0x18, 0x19, 0x1f]);

export class OpReader {
  pos: number;
  /** `values: false` skips constants' values (no bigint per constant): for scans that do not need them. */
  constructor(private readonly b: Uint8Array, start: number, private readonly end: number, private readonly values = true) {
    this.pos = start;
  }

  /** Steps over a LEB128 of any width without decoding it. */
  skipLeb(): void {
    let x: number;
    let n = 0;
    do {
      x = this.byte();
      if (++n > 10) throw new Error('bad LEB128');
    } while (x & 0x80);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  byte(): number {
    if (this.pos >= this.end) throw new Error('function body ends mid-instruction');
    return this.b[this.pos++] as number;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const x = this.byte();
      result += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new Error('bad LEB128');
    }
  }

  /** Signed LEB128 as a bigint (i32.const, i64.const, block types). */
  sleb(): bigint {
    let result = 0n;
    let shift = 0n;
    let x: number;
    do {
      x = this.byte();
      result |= BigInt(x & 0x7f) << shift;
      shift += 7n;
      if (shift > 70n) throw new Error('bad LEB128');
    } while (x & 0x80);
    if (x & 0x40) result -= 1n << shift;
    return result;
  }

  skip(n: number): void {
    if (this.pos + n > this.end) throw new Error('function body ends mid-instruction');
    this.pos += n;
  }

  private blockType(): void {
    const t = this.b[this.pos] as number;
    if (t === 0x63 || t === 0x64) {
      this.pos++;
      this.skipLeb(); // (ref null? ht)
    } else if (t === 0x40 || (t >= 0x69 && t <= 0x7f)) this.pos++;
    else this.skipLeb(); // a type index (multi-value)
  }

  private memarg(): void {
    const align = this.u32();
    if (align & 0x40) this.u32(); // multi-memory: the memory index
    this.u32(); // offset (u64 for memory64; the LEB reader takes it)
  }

  next(): Op {
    const start = this.pos;
    const code = this.byte();
    let sub = 0;
    let value: bigint | undefined;
    let index: number | undefined;
    let other: number | undefined;
    if (code === 0x02 || code === 0x03 || code === 0x04 || code === 0x06) this.blockType();
    else if (code === 0x07 || code === 0x08 || code === 0x09 || code === 0x18) this.u32();
    else if (code === 0x1f) this.tryTable();
    else if (code === 0x0c || code === 0x0d || code === 0x10 || code === 0x12 || code === 0xd2 || code === 0x14 || code === 0x15) this.u32();
    else if (code === 0xd5 || code === 0xd6) this.u32(); // br_on_null, br_on_non_null (ref.as_non_null, 0xd4, has none)
    else if (code === 0x0e) {
      const n = this.u32();
      for (let i = 0; i <= n; i++) this.u32();
    } else if (code === 0x11 || code === 0x13) {
      this.u32();
      this.u32();
    } else if (code === 0x1c) {
      const n = this.u32();
      for (let i = 0; i < n; i++) this.valType();
    } else if (code >= 0x20 && code <= 0x26) this.u32();
    else if (code >= 0x28 && code <= 0x3e) this.memarg();
    else if (code === 0x3f || code === 0x40) index = this.u32();
    else if (code === 0x41 || code === 0x42) {
      if (this.values) value = this.sleb();
      else this.skipLeb();
    }
    else if (code === 0x43) this.skip(4);
    else if (code === 0x44) this.skip(8);
    else if (code === 0xd0) this.skipLeb(); // heap type
    else if (code === 0xfc) ({ sub, index, other } = this.misc());
    else if (code === 0xfd) sub = this.simd();
    else if (code === 0xfe) {
      sub = this.u32();
      if (sub === 0x03) this.byte(); // atomic.fence
      else this.memarg();
    } else if (!isPlain(code)) {
      throw new Error(`opcode 0x${code.toString(16)} is not read by the module rewriter`);
    }
    const op: Op = { code, sub, start, end: this.pos };
    if (value !== undefined) op.value = value;
    if (index !== undefined) op.index = index;
    if (other !== undefined) op.other = other;
    return op;
  }

  /**
   * Steps over operators until a 0xfc operator whose sub-opcode is in `subs`,
   * and returns it; undefined at the end of the body. Table-driven and
   * allocation-free over the operators it passes: bulk-ops.ts reads whole
   * large modules with it.
   */
  nextMisc(subs: ReadonlySet<number>): Op | undefined {
    const b = this.b;
    const end = this.end;
    // Locals, not this.pos: this loop reads whole code sections.
    let p = this.pos;
    while (p < end) {
      const kind = IMMEDIATES[b[p] as number] as number;
      if (kind === NONE) {
        p++;
      } else if (kind === ONE_LEB) {
        p++;
        while ((b[p++] as number) & 0x80);
      } else if (kind === MEMARG) {
        p++;
        const align = b[p] as number; // its bit 6 (a memory index follows) is in the first byte
        while ((b[p++] as number) & 0x80);
        if (align & 0x40) while ((b[p++] as number) & 0x80);
        while ((b[p++] as number) & 0x80);
      } else {
        this.pos = p;
        const op = this.next();
        p = this.pos;
        if (op.code === 0xfc && subs.has(op.sub)) return op;
      }
    }
    if (p > end) throw new Error('function body ends mid-instruction');
    this.pos = p;
    return undefined;
  }

  /** try_table's block type and catch clauses (kind, then a tag for catch/catch_ref, then a label). */
  private tryTable(): void {
    this.blockType();
    const n = this.u32();
    for (let i = 0; i < n; i++) {
      const kind = this.byte();
      if (kind === 0x00 || kind === 0x01) this.u32();
      this.u32();
    }
  }

  private valType(): void {
    const t = this.byte();
    if (t === 0x63 || t === 0x64) this.skipLeb();
  }

  private misc(): { sub: number; index?: number; other?: number } {
    const sub = this.u32();
    if (sub <= 7) return { sub };
    switch (sub) {
      case 8: case 12: { const seg = this.u32(); return { sub, index: this.u32(), other: seg }; } // memory.init data mem, table.init elem table
      case 9: this.u32(); return { sub }; // data.drop
      case 10: case 14: { const dst = this.u32(); return { sub, index: dst, other: this.u32() }; } // memory.copy, table.copy: dst src
      case 11: return { sub, index: this.u32() }; // memory.fill
      case 13: this.u32(); return { sub }; // elem.drop
      case 15: case 16: case 17: return { sub, index: this.u32() }; // table.grow/size/fill
      default: throw new Error(`opcode 0xfc ${sub} is not read by the module rewriter`);
    }
  }

  private simd(): number {
    const sub = this.u32();
    if (sub <= 11 || sub === 92 || sub === 93) this.memarg();
    else if (sub === 12 || sub === 13) this.skip(16);
    else if (sub >= 21 && sub <= 34) this.byte();
    else if (sub >= 84 && sub <= 91) {
      this.memarg();
      this.byte();
    }
    return sub;
  }
}

/** Opcodes without immediates. */
function isPlain(code: number): boolean {
  return code === 0x00 || code === 0x01 || code === 0x05 || code === 0x0a || code === 0x0b || code === 0x0f || code === 0x19 || code === 0x1a ||
    code === 0x1b || (code >= 0x45 && code <= 0xc4) || code === 0xd1 || code === 0xd3 || code === 0xd4;
}

const NONE = 1;
const ONE_LEB = 2;
const MEMARG = 3;
/** The common operators' immediates, for nextMisc; 0: anything else (read by next()). */
const IMMEDIATES = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) if (isPlain(c)) t[c] = NONE;
  for (const c of [0x07, 0x08, 0x09, 0x18, 0x0c, 0x0d, 0x10, 0x12, 0xd2, 0x14, 0x15, 0xd5, 0xd6, 0x41, 0x42, 0xd0]) t[c] = ONE_LEB;
  for (let c = 0x20; c <= 0x26; c++) t[c] = ONE_LEB;
  for (let c = 0x28; c <= 0x3e; c++) t[c] = MEMARG;
  return t;
})();
