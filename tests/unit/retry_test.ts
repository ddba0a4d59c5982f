import assert from "node:assert/strict";
import { backoffDelay, retry } from "../../src/retry.ts";

const failing = (n: number, error = new Error("down")) => {
  let calls = 0;
  return {
    fn: () => ++calls <= n ? Promise.reject(error) : Promise.resolve(calls),
    calls: () => calls,
  };
};

Deno.test("retry: backs off exponentially until the attempt succeeds", async () => {
  const waits: number[] = [];
  const f = failing(3);
  const got = await retry(f.fn, {
    baseMs: 100,
    jitter: 0,
    sleep: (ms) => (waits.push(ms), Promise.resolve()),
  });
  assert.equal(got, 4);
  assert.deepEqual(waits, [100, 200, 400]);
});

Deno.test("retry: stops at the attempt bound, at an error not worth retrying, and at the time bound", async () => {
  const noWait = { sleep: () => Promise.resolve() };
  const f = failing(10);
  await assert.rejects(retry(f.fn, { attempts: 3, ...noWait }), /down/);
  assert.equal(f.calls(), 3);
  const g = failing(10, new Error("refused"));
  await assert.rejects(retry(g.fn, { retryable: (e) => !/refused/.test(String(e)), ...noWait }));
  assert.equal(g.calls(), 1);
  const h = failing(10);
  await assert.rejects(retry(h.fn, { attempts: Infinity, withinMs: 250, baseMs: 100, jitter: 0 }));
  assert.ok(h.calls() >= 2 && h.calls() <= 3, `${h.calls()} attempts within 250 ms`);
});

Deno.test("retry: a wait the error asks for replaces the backoff; jitter stays within its spread", async () => {
  const waits: number[] = [];
  await retry(failing(1).fn, {
    waitFor: () => 2000,
    sleep: (ms) => (waits.push(ms), Promise.resolve()),
  });
  assert.deepEqual(waits, [2000]);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(3, { baseMs: 1000, maxMs: 3000 });
    assert.ok(d >= 2400 && d <= 3600, `${d}`);
  }
});

Deno.test("retry: a bad option is a RangeError naming it", async () => {
  for (
    const [options, name] of [
      [{ attempts: 0 }, "attempts"],
      [{ baseMs: -1 }, "baseMs"],
      [{ jitter: 2 }, "jitter"],
      [{ withinMs: NaN }, "withinMs"],
    ] as const
  ) {
    await assert.rejects(
      retry(() => Promise.resolve(1), options),
      (e: Error) => e instanceof RangeError && e.message.includes(name),
    );
  }
});
