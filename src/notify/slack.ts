/**
 * Slack incoming webhook delivery: retries network errors and 5xx with backoff, honours
 * `Retry-After` on 429, gives up at once on other 4xx. The webhook URL is a secret: it never
 * appears in a result or an error.
 *
 * @module
 */
import { retry, type RetryOptions } from "../retry.ts";

/** Options of {@link postSlack} (backoff: {@link RetryOptions}, first wait 500 ms). */
export interface SlackOptions extends Pick<RetryOptions, "baseMs" | "maxMs" | "sleep"> {
  /** Attempts in all. Default: 5. */
  attempts?: number;
  /** Per-request timeout, ms. Default: 10,000. */
  timeoutMs?: number;
  /** Longest `Retry-After` honoured, ms. Default: 60,000. */
  maxRetryAfterMs?: number;
}

/** How a delivery ended. */
export interface Delivery {
  ok: boolean;
  attempts: number;
  /** Why it failed (no secret in it). */
  error?: string;
}

/** A failed post: whether to try again and after how long the server asked. */
class SlackFailure extends Error {
  constructor(message: string, readonly again: boolean, readonly waitMs?: number) {
    super(message);
  }
}

/** Posts `payload` to the webhook. Never throws. */
export async function postSlack(
  url: string,
  payload: unknown,
  options: SlackOptions = {},
): Promise<Delivery> {
  let attempts = 0;
  const post = async () => {
    attempts++;
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (e) {
      const message = (e as Error).name === "TimeoutError"
        ? "timed out"
        : `network error: ${redactUrl((e as Error).message, url)}`;
      throw new SlackFailure(message, true);
    }
    const body = (await res.text()).slice(0, 200);
    if (res.ok) return;
    const error = `HTTP ${res.status}${body ? `: ${body}` : ""}`;
    if (res.status === 429) {
      const after = Number(res.headers.get("retry-after"));
      const waitMs = Number.isFinite(after) && after >= 0
        ? Math.min(after * 1000, options.maxRetryAfterMs ?? 60_000)
        : undefined;
      throw new SlackFailure(error, true, waitMs);
    }
    throw new SlackFailure(error, res.status >= 500);
  };
  try {
    await retry(post, {
      attempts: options.attempts ?? 5,
      baseMs: options.baseMs,
      maxMs: options.maxMs,
      sleep: options.sleep,
      retryable: (e) => (e as SlackFailure).again,
      waitFor: (e) => (e as SlackFailure).waitMs,
    });
    return { ok: true, attempts };
  } catch (e) {
    return { ok: false, attempts, error: (e as Error).message };
  }
}

function redactUrl(message: string, url: string): string {
  return message.split(url).join("[webhook]").replace(/https?:\/\/\S+/g, "[url]");
}
