// A queue worker in its own process, as the tests run them: options as JSON
// in argv[2]; reports over IPC ('ready', 'active', 'completed', 'closed');
// closes on a 'close' message, and exits when its parent goes away.
import { createQueueWorker } from '../../dist/esm/queue/index.js';

const options = JSON.parse(process.argv[2]);
const send = (m) => process.connected && process.send(m);
const worker = createQueueWorker({ ...options, onError: () => undefined });
worker.bullWorker.on('active', (job) => send({ type: 'active', jobId: job.id }));
worker.bullWorker.on('completed', (job) => send({ type: 'completed', jobId: job.id }));
worker.bullWorker.on('failed', (job, err) => send({ type: 'failed', jobId: job?.id, reason: err.message }));
await worker.waitUntilReady();
send({ type: 'ready', pid: process.pid });
process.on('message', async (m) => {
  if (m.type === 'close') {
    await worker.close();
    send({ type: 'closed' });
    process.exit(0);
  }
  if (m.type === 'running') send({ type: 'running', running: worker.running });
});
process.on('disconnect', () => void worker.close({ force: true }).finally(() => process.exit(0)));
