// A SandboxResult as a job's return value: BullMQ stores it as JSON, so the
// stdout/stderr Buffers travel as base64 and are decoded on the client.
import type { SandboxResult } from '../shared/types.js';

/** The JSON form of a SandboxResult. */
export interface EncodedResult extends Omit<SandboxResult, 'stdout' | 'stderr'> {
  stdout: string;
  stderr: string;
}

/** What `client.execute` resolves with: a SandboxResult and the job that produced it. */
export interface QueueResult extends SandboxResult {
  /** The BullMQ job id (the `jobId` you gave, or a generated one). */
  jobId: string;
}

export function encodeResult(result: SandboxResult): EncodedResult {
  return { ...result, stdout: result.stdout.toString('base64'), stderr: result.stderr.toString('base64') };
}

export function decodeResult(value: unknown, jobId: string): QueueResult {
  const v = value as EncodedResult;
  return {
    ...v,
    stdout: Buffer.from(typeof v.stdout === 'string' ? v.stdout : '', 'base64'),
    stderr: Buffer.from(typeof v.stderr === 'string' ? v.stderr : '', 'base64'),
    jobId,
  };
}
