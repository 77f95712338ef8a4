// poll_oneoff: clock subscriptions sleep (Atomics.wait on the pool's wake
// cell, so a stop cuts the sleep short; no spinning); fd subscriptions are
// always ready, with the bytes readable now for fd_read.
import { now } from './clock.js';
import type { FdTable } from './fd/table.js';
import type { GuestMemory } from './guest-memory.js';
import { CLOCK, ERRNO, EVENT, EVENTTYPE, SUBCLOCKFLAGS, SUBSCRIPTION } from './wasi-defs.js';

interface Sub {
  userdata: bigint;
  tag: number;
  deadline?: bigint;
  error?: number;
  fd?: number;
}

/** Returns the number of events written. */
export function pollOneoff(mem: GuestMemory, fds: FdTable, wake: Int32Array, inPtr: number, outPtr: number, nsubs: number): number {
  const count = nsubs >>> 0;
  const subs = mem.bytes(inPtr, count * SUBSCRIPTION.size);
  const events = mem.bytes(outPtr, count * EVENT.size);
  const sv = new DataView(subs.buffer, subs.byteOffset, subs.byteLength);
  const ev = new DataView(events.buffer, events.byteOffset, events.byteLength);
  const list: Sub[] = [];
  const start = now(CLOCK.MONOTONIC);
  for (let i = 0; i < count; i++) {
    const b = i * SUBSCRIPTION.size;
    const userdata = sv.getBigUint64(b + SUBSCRIPTION.userdata, true);
    const tag = sv.getUint8(b + SUBSCRIPTION.tag);
    if (tag === EVENTTYPE.CLOCK) {
      const id = sv.getUint32(b + SUBSCRIPTION.clockId, true);
      const timeout = sv.getBigUint64(b + SUBSCRIPTION.timeout, true);
      const abs = (sv.getUint16(b + SUBSCRIPTION.clockFlags, true) & SUBCLOCKFLAGS.ABSTIME) !== 0;
      if (id !== CLOCK.REALTIME && id !== CLOCK.MONOTONIC) {
        list.push({ userdata, tag, error: ERRNO.INVAL });
        continue;
      }
      const relative = abs ? timeout - now(id) : timeout;
      list.push({ userdata, tag, deadline: start + (relative > 0n ? relative : 0n) });
    } else if (tag === EVENTTYPE.FD_READ || tag === EVENTTYPE.FD_WRITE) {
      list.push({ userdata, tag, fd: sv.getUint32(b + SUBSCRIPTION.fd, true) });
    } else {
      list.push({ userdata, tag, error: ERRNO.INVAL });
    }
  }
  if (!list.some((s) => s.deadline === undefined)) sleepUntil(earliest(list), wake);
  const t = now(CLOCK.MONOTONIC);
  let n = 0;
  for (const s of list) {
    if (s.deadline !== undefined && s.deadline > t) continue;
    let error = s.error ?? ERRNO.SUCCESS;
    let nbytes = 0n;
    if (s.fd !== undefined) {
      const d = fds.find(s.fd);
      if (!d) error = ERRNO.BADF;
      else if (s.tag === EVENTTYPE.FD_READ) nbytes = d.readable();
    }
    const b = n * EVENT.size;
    ev.setBigUint64(b + EVENT.userdata, s.userdata, true);
    ev.setUint16(b + EVENT.error, error, true);
    ev.setUint8(b + EVENT.type, s.tag);
    ev.setBigUint64(b + EVENT.nbytes, nbytes, true);
    ev.setUint16(b + EVENT.flags, 0, true);
    n++;
  }
  return n;
}

function earliest(list: Sub[]): bigint {
  return list.reduce((m, s) => ((s.deadline as bigint) < m ? (s.deadline as bigint) : m), list[0]?.deadline as bigint);
}

function sleepUntil(deadline: bigint, wake: Int32Array): void {
  for (;;) {
    const left = deadline - now(CLOCK.MONOTONIC);
    if (left <= 0n) return;
    Atomics.wait(wake, 0, 0, Number(left / 1000n) / 1000);
    if (Atomics.load(wake, 0) !== 0) return; // being stopped
  }
}
