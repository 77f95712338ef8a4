// Fake frames for the tool host tests (test/python/tool-*.test.ts): no interpreter.
import { expect } from 'vitest';
import { ToolHost, type PythonTool, type ToolHostOptions } from '../../dist/esm/python/tools/index.js';

export type Answer = {
  v: number;
  id: number | null;
  ok: boolean;
  value?: unknown;
  tools?: Record<string, unknown>[];
  error?: { kind: string; message: string };
};

export const frame = (request: unknown): Buffer => Buffer.from(JSON.stringify(request), 'utf8');
let nextId = 1;

export async function send(host: ToolHost, raw: Buffer | string): Promise<Answer> {
  const answer = await host.answer(typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw);
  expect(Buffer.isBuffer(answer)).toBe(true);
  return JSON.parse(answer.toString('utf8')) as Answer;
}

export function call(host: ToolHost, tool: string, args?: unknown): Promise<Answer> {
  const request: Record<string, unknown> = { v: 1, id: nextId++, op: 'call', tool };
  if (args !== undefined) request.args = args;
  return send(host, frame(request));
}

export const LOOKUP_SCHEMA = {
  type: 'object',
  properties: {
    code: { type: 'string', description: 'A region code' },
    year: { type: 'integer' },
  },
  required: ['code'],
  additionalProperties: false,
};

export function lookupTool(seen: unknown[] = []): PythonTool {
  return {
    name: 'lookup',
    description: 'Look up a sales region by its code.',
    inputSchema: LOOKUP_SCHEMA,
    outputSchema: { type: 'object' },
    annotations: { readOnlyHint: true },
    handler: (args, context) => {
      seen.push({ args, seq: context.seq });
      return { region: args.code, year: args.year ?? 2026 };
    },
  };
}

export function host(tools: PythonTool[], options?: ToolHostOptions): ToolHost {
  return new ToolHost(tools, options);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
