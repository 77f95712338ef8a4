// The capped output streams of the JS backend: a shared buffer the guest's
// worker writes stdout and stderr into as it runs, read by the main thread.
// Shared output buffer: [header 64 bytes][stdout cap bytes][stderr cap bytes].
// Header (Float64): kept/total per stream. The worker writes it as the guest
// runs, so output written before a timeout survives the worker's termination.
const HEADER_BYTES = 64;

export function outputBufferSize(cap: number): number {
  return HEADER_BYTES + 2 * cap;
}

export class CappedOutput {
  private readonly header: Float64Array;
  private readonly data: Uint8Array;

  constructor(
    shared: SharedArrayBuffer,
    private readonly stream: 0 | 1,
    private readonly cap: number,
  ) {
    this.header = new Float64Array(shared, 0, 4);
    this.data = new Uint8Array(shared, HEADER_BYTES + stream * cap, cap);
  }

  reset(): void {
    this.header[this.stream * 2] = 0;
    this.header[this.stream * 2 + 1] = 0;
  }

  /** Keeps what fits under the cap; counts everything. Never fails. */
  write(chunk: Uint8Array): void {
    const kept = this.header[this.stream * 2] as number;
    const take = Math.min(this.cap - kept, chunk.length);
    if (take > 0) this.data.set(chunk.subarray(0, take), kept);
    this.header[this.stream * 2] = kept + take;
    this.header[this.stream * 2 + 1] = (this.header[this.stream * 2 + 1] as number) + chunk.length;
  }
}

export interface CapturedStream {
  bytes: Buffer;
  total: number;
  truncated: boolean;
}

/** Copies one stream out of the shared buffer (on the main thread, after the run). */
export function readCaptured(shared: SharedArrayBuffer, stream: 0 | 1, cap: number): CapturedStream {
  const header = new Float64Array(shared, 0, 4);
  const kept = header[stream * 2] as number;
  const total = header[stream * 2 + 1] as number;
  const bytes = Buffer.alloc(kept);
  bytes.set(new Uint8Array(shared, HEADER_BYTES + stream * cap, kept));
  return { bytes, total, truncated: total > kept };
}
