/**
 * Retries with exponential backoff and jitter, for notification channels.
 *
 * @module
 */

/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** First delay, ms. Default: 500. */
  baseMs?: number;
  /** Largest delay, ms. Default: 30,000. */
  maxMs?: number;
}

/** Delay before retry number `attempt` (1-based): `base·2^(attempt−1)`, capped, ±20 % jitter. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random = Math.random,
): number {
  const base = options.baseMs ?? 500, max = options.maxMs ?? 30_000;
  const d = Math.min(max, base * 2 ** (attempt - 1));
  return Math.round(d * (0.8 + 0.4 * random()));
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
