/** The job queue (docs/queue.md): enqueue runs on BullMQ/Redis, work them off on any number of machines. */
export { enqueueRuns, queueCounts, checkRequests, DEFAULT_QUEUE_NAME, JOB_OPTIONS, type RunRequest, type EnqueueOptions, type EnqueuedJob, type QueueCounts } from "./enqueue.js";
export { startWorker, DEFAULT_LOCK_MS, type WorkerOptions, type QueueWorker, type JobResult } from "./worker.js";
export { decodeJobData, jobIdOf, defaultSweepId, JobDataC, type JobData, type Override } from "./job.js";
export { ensureStoreIdentity, readStoreIdentity, STORE_IDENTITY_FILE, type StoreIdentity } from "./store-identity.js";
export { QueueUnreachableError, QueueRequestError } from "./errors.js";
export { connectRedis, checkRedisUrl, CONNECT_TIMEOUT_MS } from "./connection.js";
