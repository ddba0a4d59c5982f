/**
 * Slack incoming webhook delivery: retries network errors and 5xx with backoff, honours
 * `Retry-After` on 429, gives up at once on other 4xx. The webhook URL is a secret: it never
 * appears in a result or an error.
 *
 * @module
 */
import { backoffDelay, type BackoffOptions, sleep } from "./retry.ts";

/** Options of {@link postSlack}. */
export interface SlackOptions extends BackoffOptions {
  /** Attempts in all. Default: 5. */
  attempts?: number;
  /** Per-request timeout, ms. Default: 10,000. */
  timeoutMs?: number;
  /** Longest `Retry-After` honoured, ms. Default: 60,000. */
  maxRetryAfterMs?: number;
  /** Injected for tests. Default: {@link sleep}. */
  sleep?: (ms: number) => Promise<void>;
}

/** How a delivery ended. */
export interface Delivery {
  ok: boolean;
  attempts: number;
  /** Why it failed (no secret in it). */
  error?: string;
}

/** Posts `payload` to the webhook. Never throws. */
export async function postSlack(
  url: string,
  payload: unknown,
  options: SlackOptions = {},
): Promise<Delivery> {
  const attempts = options.attempts ?? 5;
  const wait = options.sleep ?? sleep;
  let error = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let delay = backoffDelay(attempt, options);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const body = (await res.text()).slice(0, 200);
      if (res.ok) return { ok: true, attempts: attempt };
      error = `HTTP ${res.status}${body ? `: ${body}` : ""}`;
      if (res.status === 429) {
        const after = Number(res.headers.get("retry-after"));
        if (Number.isFinite(after) && after >= 0) {
          delay = Math.min(after * 1000, options.maxRetryAfterMs ?? 60_000);
        }
      } else if (res.status < 500) {
        return { ok: false, attempts: attempt, error };
      }
    } catch (e) {
      error = (e as Error).name === "TimeoutError"
        ? "timed out"
        : `network error: ${redactUrl((e as Error).message, url)}`;
    }
    if (attempt < attempts) await wait(delay);
  }
  return { ok: false, attempts, error };
}

function redactUrl(message: string, url: string): string {
  return message.split(url).join("[webhook]").replace(/https?:\/\/\S+/g, "[url]");
}
