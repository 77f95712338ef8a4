// fd 0: the execute's stdin bytes, read once from the start.
import { RIGHTS } from '../wasi-defs.js';
import { Descriptor, streamFdstat, type Fdstat } from './descriptor.js';

export class StdinFd extends Descriptor {
  private pos = 0;

  constructor(private readonly data: Uint8Array) {
    super();
  }

  fdstat(): Fdstat {
    return streamFdstat(RIGHTS.FD_READ | RIGHTS.POLL_FD_READWRITE);
  }

  override read(chunks: Uint8Array[]): number {
    let n = 0;
    for (const c of chunks) {
      const take = Math.min(c.length, this.data.length - this.pos);
      if (take <= 0) break;
      c.set(this.data.subarray(this.pos, this.pos + take));
      this.pos += take;
      n += take;
    }
    return n;
  }

  override readable(): bigint {
    return BigInt(this.data.length - this.pos);
  }
}
