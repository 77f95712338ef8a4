// Names shared by the client and the worker.
export const DEFAULT_QUEUE = 'mimobox';
/** The BullMQ job name every sandbox job carries. */
export const JOB_NAME = 'execute';
