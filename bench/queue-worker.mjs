// One queue worker process for bench/queue.mjs: options as JSON in argv[2];
// says 'ready' over IPC, closes on 'close' or when the bench goes away.
import { createQueueWorker } from '../dist/esm/queue/index.js';

const worker = createQueueWorker({ ...JSON.parse(process.argv[2]), onError: () => undefined });
await worker.waitUntilReady();
process.send({ type: 'ready' });
const stop = () => void worker.close({ force: true }).finally(() => process.exit(0));
process.on('message', (m) => m.type === 'close' && stop());
process.on('disconnect', stop);
