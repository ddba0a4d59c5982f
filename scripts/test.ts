/**
 * `deno task test`: starts one real Kafka broker for the whole run (its own port and data
 * directory, so a running dev stack is not touched), runs `deno test` with `KAFKA_BROKER`
 * pointing at it, stops the broker, and ends with the plain line `N passed, N failed`.
 *
 * Arguments are passed to `deno test` (default: `tests/`).
 *
 * @module
 */
import { LOCAL_DIR, startBroker, stopBroker } from "./kafka.ts";
import { ensurePackages } from "./prereqs.ts";

const port = Number(Deno.env.get("TEST_KAFKA_PORT") ?? 19092);
const options = {
  port,
  controllerPort: port + 2,
  dataDir: `${LOCAL_DIR}/test-kafka`,
};

// kcat, promtool, amtool, prometheus: installed now when missing (as root), else a clear stop.
try {
  await ensurePackages("test");
} catch (e) {
  console.error((e as Error).message);
  Deno.exit(2);
}

// A fresh broker every run: no topics or offsets left from an earlier one.
await stopBroker(options);
await Deno.remove(options.dataDir, { recursive: true }).catch(() => {});
const started = Date.now();
const broker = await startBroker(options);
console.log(`test_broker_ready address=${broker.address} ms=${Date.now() - started}`);

let stopping: Promise<boolean> | undefined;
const stop = () => stopping ??= stopBroker(options);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await stop();
    Deno.exit(130);
  });
}

const args = Deno.args.length > 0 ? Deno.args : ["tests/"];
const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", ...args],
  env: { KAFKA_BROKER: broker.address, ANOMALY_FLOW_TEST_KAFKA: broker.address },
  stdout: "piped",
  stderr: "inherit",
}).spawn();

let summary = "";
const decoder = new TextDecoder();
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  const text = decoder.decode(chunk, { stream: true });
  // deno test closes with `ok | 12 passed (3 steps) | 0 failed` (or FAILED | …).
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  const m = plain.match(/(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/);
  if (m) summary = `${m[1]} passed, ${m[2]} failed`;
}
const status = await child.status;
await stop();
console.log(summary || `0 passed, 1 failed`);
if (!summary) console.error("deno test printed no summary line");
Deno.exit(status.success && summary ? 0 : 1);
