import assert from "node:assert/strict";
import { logger, REDACTED, setupLogging } from "../../src/log.ts";

function capture(format: "text" | "json", level: "info" | "debug" = "info"): string[] {
  const lines: string[] = [];
  setupLogging({ format, level, write: (l) => lines.push(l) });
  return lines;
}

Deno.test("text lines are the seed's key=value shape", () => {
  const lines = capture("text");
  logger().info("metrics_server_started", { port: 8000 });
  logger().info("progress", { processed: 1000, anomalies: 15, last_score: 0.65, threshold: 0.999 });
  assert.match(
    lines[0],
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[info\] metrics_server_started port=8000\n$/,
  );
  assert.match(
    lines[1],
    /\[info\] progress processed=1000 anomalies=15 last_score=0\.65 threshold=0\.999\n$/,
  );
});

Deno.test("JSON lines carry the event and its properties", () => {
  const lines = capture("json");
  logger("kafka").warn("broker_unreachable", { broker: "127.0.0.1:1", attempt: 3 });
  const obj = JSON.parse(lines[0]);
  assert.equal(obj.event, "broker_unreachable");
  assert.equal(obj.level, "warning");
  assert.equal(obj.broker, "127.0.0.1:1");
  assert.equal(obj.attempt, 3);
});

Deno.test("the level filters lower records", () => {
  const lines = capture("text", "info");
  logger().debug("hidden");
  logger().info("shown");
  assert.equal(lines.length, 1);
  assert.match(lines[0], /shown/);
});

Deno.test("secret-looking properties are never printed", () => {
  for (const format of ["text", "json"] as const) {
    const lines = capture(format);
    logger().info("smtp_config", {
      smtp_password: "hunter2",
      slack_webhook_url: "https://hooks.example/T/B/X",
      sasl: { username: "u", password: "p" },
      host: "mail",
    });
    assert.ok(!lines[0].includes("hunter2") && !lines[0].includes("hooks.example"), lines[0]);
    assert.ok(lines[0].includes(REDACTED));
    assert.ok(lines[0].includes("mail"));
  }
});

Deno.test("values with spaces are quoted in text lines", () => {
  const lines = capture("text");
  logger().error("failed", { reason: "connection refused by peer" });
  assert.match(lines[0], /reason="connection refused by peer"/);
});
