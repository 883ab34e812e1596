/**
 * Connecting to Redis, failing fast: a short connect timeout and no
 * reconnection while connecting, so an unreachable Redis is an error within
 * a few seconds (exit 2), not a hang.
 */
import { Redis } from "ioredis";
import { QueueRequestError, QueueUnreachableError } from "./errors.js";

/** How long a first connection may take. */
export const CONNECT_TIMEOUT_MS = 3000;

/** Check a queue URL: redis://[user:pass@]host[:port][/db] or rediss://… */
export function checkRedisUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueRequestError(`--queue must be a Redis URL (redis://HOST:PORT), got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new QueueRequestError(`--queue must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
  if (u.hostname === "") throw new QueueRequestError(`--queue names no host: ${JSON.stringify(url)}`);
  return u;
}

/**
 * Connect or throw QueueUnreachableError. `blocking`: a worker's connection
 * (BullMQ needs maxRetriesPerRequest null on it); once connected it
 * reconnects on its own (the worker watches for a lost Redis).
 */
export async function connectRedis(url: string, options: { blocking: boolean }): Promise<Redis> {
  checkRedisUrl(url);
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: options.blocking ? null : 1,
    retryStrategy: () => null, // while connecting: fail, do not retry
  });
  let lastError = "";
  redis.on("error", (e: Error) => void (lastError = e.message)); // reported below or by the worker
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS + 500))),
    ]);
  } catch (e) {
    // (disconnect() on a connection that already ended leaves 2 s of timers behind)
    if (redis.status !== "end") redis.disconnect();
    throw new QueueUnreachableError(url, lastError || (e as Error).message || "connection failed");
  } finally {
    clearTimeout(timer);
  }
  // Connected: from now on, reconnect (a short outage is survived).
  redis.options.retryStrategy = (times: number) => Math.min(200 * times, 2000);
  return redis;
}
