/**
 * One retry loop for everything that waits on a peer: Kafka at start-up, the Slack webhook, the
 * SMTP server. Exponential backoff with jitter, a bound in attempts and in time, a say per error
 * on whether it is worth another try and how long to wait (a server's `Retry-After`).
 *
 * ```ts
 * const answer = await retry(() => fetch(url), { attempts: 5, retryable: (e) => isNetwork(e) });
 * ```
 *
 * @module
 */

/** Options of {@link retry} and {@link backoffDelay}. */
export interface RetryOptions {
  /** Attempts in all (the first included). Default: 5. */
  attempts?: number;
  /** No wait may end later than this many ms after the first attempt. Default: no bound. */
  withinMs?: number;
  /** First wait, ms. Default: 500. */
  baseMs?: number;
  /** Longest wait, ms. Default: 30,000. */
  maxMs?: number;
  /** Random spread of each wait, as a fraction (0.2: ±20 %). Default: 0.2. */
  jitter?: number;
  /** Whether `error` is worth another attempt. Default: every error is. */
  retryable?: (error: unknown) => boolean;
  /** The wait `error` asks for (e.g. a `Retry-After`), ms; replaces the backoff. Default: none. */
  waitFor?: (error: unknown) => number | undefined;
  /** Called before each wait. Default: nothing. */
  onRetry?: (error: unknown, attempt: number, waitMs: number) => void;
  /** Waits `ms` (tests pass a fake). Default: {@link sleep}. */
  sleep?: (ms: number) => Promise<void>;
  /** Source of the jitter, in [0, 1). Default: `Math.random`. */
  random?: () => number;
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function check(options: RetryOptions): void {
  const positive = (name: keyof RetryOptions, value: unknown, integer = false) => {
    if (value === undefined) return;
    const n = value as number;
    if (typeof n !== "number" || !(n >= 0) || (integer && (!Number.isInteger(n) || n < 1))) {
      throw new RangeError(
        `retry option ${name} must be ${integer ? "a positive integer" : "a number ≥ 0"}, got ${n}`,
      );
    }
  };
  if (options.attempts !== Infinity) positive("attempts", options.attempts, true);
  positive("withinMs", options.withinMs);
  positive("baseMs", options.baseMs);
  positive("maxMs", options.maxMs);
  positive("jitter", options.jitter);
  if ((options.jitter ?? 0) > 1) {
    throw new RangeError(`retry option jitter must be in [0, 1], got ${options.jitter}`);
  }
}

/** Wait before retry number `attempt` (1-based): `baseMs·2^(attempt−1)`, capped, with jitter. */
export function backoffDelay(attempt: number, options: RetryOptions = {}): number {
  const base = options.baseMs ?? 500, max = options.maxMs ?? 30_000;
  const jitter = options.jitter ?? 0.2, random = options.random ?? Math.random;
  const d = Math.min(max, base * 2 ** (attempt - 1));
  return Math.round(d * (1 - jitter + 2 * jitter * random()));
}

/**
 * Runs `attempt` until it resolves; retries a rejection that is {@link RetryOptions.retryable}
 * while attempts and time are left, waiting {@link backoffDelay} (or what the error asks for)
 * between tries. Rejects with the last error. A bad option is a `RangeError` naming it.
 */
export async function retry<T>(
  attempt: (n: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  check(options);
  const attempts = options.attempts ?? 5;
  const wait = options.sleep ?? sleep;
  const deadline = Date.now() + (options.withinMs ?? Infinity);
  for (let n = 1;; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      if (n >= attempts || !(options.retryable?.(e) ?? true)) throw e;
      const ms = options.waitFor?.(e) ?? backoffDelay(n, options);
      if (Date.now() + ms > deadline) throw e;
      options.onRetry?.(e, n, ms);
      await wait(ms);
    }
  }
}
