// mimobox-wasm/queue: sandboxes as BullMQ workers on Redis. A separate entry
// point so that `import 'mimobox-wasm'` never loads BullMQ.
import '../shared/node-floor.js';
export { createQueueClient, type QueueClient, type QueueClientOptions, type QueueExecuteOptions, type QueueExecuteRequest, type QueueStats } from './client.js';
export { DEFAULT_QUEUE, JOB_NAME } from './names.js';
export { createQueueWorker, type QueueWorker, type QueueWorkerOptions } from './worker.js';
export { QueueError, type QueueErrorCode, type QueueFailureCode } from './errors.js';
export type { ModuleRef } from './modules.js';
export { DEFAULT_PAYLOAD_LIMITS, type JobLimits, type JobPayload, type PayloadLimits } from './payload.js';
export type { QueueResult } from './result-codec.js';
export { parseRedisUrl, type QueueConnection } from './connection.js';
