// File times for fd/path_filestat_set_times, to the nanosecond as the guest
// sees them. Node's utimes takes seconds as a double (about 0.2 µs at today's
// dates), so a guest that sets mtime to t and reads it back would see a
// slightly different t, and a time it did not ask to change would move. Each
// execute remembers the exact values it set per inode and answers with them
// while the host file still holds what was written (any later change on the
// host shows through).
import type { BigIntStats } from 'node:fs';
import { WasiError } from './fs.js';
import { ERRNO, FSTFLAGS } from './wasi-defs.js';

interface Exact {
  atim: bigint;
  mtim: bigint;
  /** What the host reported right after the set. */
  hostA: bigint;
  hostM: bigint;
}

const key = (st: BigIntStats): string => `${st.dev}:${st.ino}`;
/** Nanoseconds to the seconds Node takes, rounded to the microsecond a double holds. */
const seconds = (ns: bigint): number => Number(ns / 1000n) / 1e6;

export class ExactTimes {
  private readonly set = new Map<string, Exact>();

  /** The atime and mtime the guest should see for this stat. */
  view(st: BigIntStats): { atim: bigint; mtim: bigint } {
    const e = this.set.get(key(st));
    return {
      atim: e && e.hostA === st.atimeNs ? e.atim : st.atimeNs,
      mtim: e && e.hostM === st.mtimeNs ? e.mtim : st.mtimeNs,
    };
  }

  /**
   * Applies a set_times call: `before` is the current stat, `write` sets the
   * host times in seconds, `after` re-reads the stat. Unset times keep their
   * exact value; *_NOW uses the host's realtime clock.
   */
  apply(
    atim: bigint, mtim: bigint, fst: number, nowNs: () => bigint,
    before: BigIntStats, write: (a: number, m: number) => void, after: () => BigIntStats,
  ): void {
    if ((fst & FSTFLAGS.ATIM && fst & FSTFLAGS.ATIM_NOW) || (fst & FSTFLAGS.MTIM && fst & FSTFLAGS.MTIM_NOW)) {
      throw new WasiError(ERRNO.INVAL);
    }
    const current = this.view(before);
    const pick = (value: bigint, set: number, setNow: number, keep: bigint): bigint =>
      fst & set ? value : fst & setNow ? nowNs() : keep;
    const a = pick(atim, FSTFLAGS.ATIM, FSTFLAGS.ATIM_NOW, current.atim);
    const m = pick(mtim, FSTFLAGS.MTIM, FSTFLAGS.MTIM_NOW, current.mtim);
    write(seconds(a), seconds(m));
    const st = after();
    this.set.set(key(st), { atim: a, mtim: m, hostA: st.atimeNs, hostM: st.mtimeNs });
  }
}
