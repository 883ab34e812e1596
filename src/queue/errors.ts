/**
 * The job queue's errors that are bad input (exit 2, nothing enqueued): no
 * dependency on BullMQ here, so src/cli/errors.ts can import them cheaply.
 */

/** Redis cannot be reached (refused, unknown host, timed out): names the URL and the cause. */
export class QueueUnreachableError extends Error {
  override name = "QueueUnreachableError";
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach Redis at ${url}: ${reason}`);
  }
}

/** A bad queue URL, queue name, run request or store for the queue. */
export class QueueRequestError extends Error {
  override name = "QueueRequestError";
}
