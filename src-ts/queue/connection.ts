// Where Redis is: a `redis://` / `rediss://` URL or BullMQ's own connection
// options. Both client and worker wait for Redis to come back rather than
// failing commands while it restarts (maxRetriesPerRequest: null), so a
// Redis restart mid-run delays jobs instead of losing them.
import type { ConnectionOptions, RedisOptions } from 'bullmq';
import { QueueError } from './errors.js';

/** A `redis://[user:password@]host[:port][/db]` URL (`rediss://` for TLS), or BullMQ connection options. */
export type QueueConnection = string | ConnectionOptions;

/** Parses a redis:// or rediss:// URL into ioredis options. */
export function parseRedisUrl(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueError('CONFIG_INVALID', `connection: not a URL: ${JSON.stringify(url)} (expected redis://host:port)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new QueueError('CONFIG_INVALID', `connection: expected a redis:// or rediss:// URL, got ${JSON.stringify(u.protocol)}`);
  }
  const options: RedisOptions = { host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: u.port ? Number(u.port) : 6379 };
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.password) options.password = decodeURIComponent(u.password);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '') {
    if (!/^\d+$/.test(db)) throw new QueueError('CONFIG_INVALID', `connection: database must be a number, got ${JSON.stringify(db)}`);
    options.db = Number(db);
  }
  if (u.protocol === 'rediss:') options.tls = {};
  return options;
}

/** The connection options handed to BullMQ. A client instance is passed through unchanged. */
export function resolveConnection(connection: unknown): ConnectionOptions {
  if (typeof connection === 'string') return { ...parseRedisUrl(connection), maxRetriesPerRequest: null };
  if (connection === null || typeof connection !== 'object' || Array.isArray(connection)) {
    throw new QueueError('CONFIG_INVALID', 'connection: must be a redis:// URL or BullMQ connection options ({ host, port, ... })');
  }
  // An ioredis instance (it has a `status`) belongs to the caller; options are copied.
  if ('status' in connection) return connection as ConnectionOptions;
  return { ...(connection as RedisOptions), maxRetriesPerRequest: null };
}

/** Checks a queue name: BullMQ keys are `bull:<name>:...`, so no ':'. */
export function validateQueueName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(name)) {
    throw new QueueError('CONFIG_INVALID', `queue: must be 1-100 characters of A-Z a-z 0-9 _ . -, got ${JSON.stringify(name)}`);
  }
  return name;
}
