// fds 1 and 2: captured into the shared output buffer, up to the cap (output-capture.ts).
import type { CappedOutput } from '../output-capture.js';
import { RIGHTS } from '../wasi-defs.js';
import { Descriptor, streamFdstat, type Fdstat } from './descriptor.js';

export class OutputFd extends Descriptor {
  constructor(private readonly sink: CappedOutput) {
    super();
  }

  fdstat(): Fdstat {
    return streamFdstat(RIGHTS.FD_WRITE | RIGHTS.POLL_FD_READWRITE);
  }

  override write(chunks: Uint8Array[]): number {
    let n = 0;
    for (const c of chunks) {
      this.sink.write(c);
      n += c.length;
    }
    return n;
  }
}
