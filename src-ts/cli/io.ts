// The streams a CLI command writes to (the process's own, or a test's).

export interface Io {
  /** Only `mimobox python` reads input as a stream; the default is process.stdin. */
  stdin?: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Writes and waits until the data is handed over, so the exit code is not set before the output is out. */
export function write(stream: NodeJS.WritableStream, data: string | Uint8Array): Promise<void> {
  if (data.length === 0) return Promise.resolve();
  return new Promise((done) => {
    // Errors (EPIPE when the reader went away) are ignored: nobody is listening.
    stream.write(data, () => done());
  });
}
