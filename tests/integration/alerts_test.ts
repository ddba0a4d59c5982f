import assert from "node:assert/strict";
import { testTopic } from "../helpers/kafka.ts";
import { startHttp, startSmtp } from "../helpers/peers.ts";
import { committed, produce, startService, waitFor } from "../helpers/processor.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const PASSWORD = "Sup3r-Secret-Pass!";

/** Whoever can write an event chooses this sensor id. */
const HOSTILE = "<!channel> <https://evil.example|click here> \u001b[2J\u001b[31mred\nline2";

const alert = (sensor: string, value: number) =>
  JSON.stringify({
    type: "anomaly",
    sensor_id: sensor,
    ts: Date.now() / 1000,
    score: 0.999,
    threshold: 0.98,
    features: { value, temperature: 25 },
    dq_issues: [],
  });

Deno.test("alerts: console block, Slack and e-mail once per sensor per cooldown, commits, no secret in any log line", async () => {
  await using topic = await testTopic("alerts");
  await using smtp = await startSmtp("alerts@example.test", PASSWORD);
  await using slack = startHttp([{ status: 500 }]);
  const group = `g-${topic.name}`;
  await produce(topic.name, [
    { key: "sensor-a", value: alert("sensor-a", 60) },
    { key: "sensor-a", value: alert("sensor-a", 61) },
    { key: "sensor-a", value: alert("sensor-a", 62) },
    { key: "sensor-b", value: alert("sensor-b", -70) },
    { key: "junk", value: "not an alert" },
    { key: "hostile", value: alert(HOSTILE, 70) },
    { key: "wrong", value: JSON.stringify({ ...JSON.parse(alert("w", 1)), score: "high" }) },
    { key: "large", value: alert("x".repeat(5000), 1) },
  ]);
  const p = await startService("alerts", {
    TOPIC_ALERTS: topic.name,
    ALERTS_CONSUMER_GROUP: group,
    SLACK_WEBHOOK_URL: slack.url,
    SMTP_ENABLED: "true",
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: String(smtp.port),
    SMTP_USER: "alerts@example.test",
    SMTP_PASSWORD: PASSWORD,
    SMTP_CA_FILE: smtp.ca,
    EMAIL_TO: "oncall@example.test",
    ALERT_COOLDOWN_SEC: "600",
    MAX_EVENT_BYTES: "4096",
    LOG_LEVEL: "debug",
  });
  try {
    await waitFor(
      async () => (await committed(group, topic.name)).get(0) === 8,
      60_000,
      "8 records committed",
    );
    assert.equal(slack.bodies.length, 3, "one Slack message per sensor");
    assert.equal(slack.hits, 4, "the first Slack 500 was retried");
    assert.equal(smtp.mails.length, 3, "one e-mail per sensor");
    assert.deepEqual(
      smtp.mails.map((m) => m.subject.match(/on (sensor-\w|<!channel>)/)![1]).sort(),
      ["<!channel>", "sensor-a", "sensor-b"],
    );
    // The hostile sensor id reached Slack and the mail inert.
    const hostileSlack = JSON.stringify(
      slack.bodies.find((b) => /channel/.test(JSON.stringify(b))),
    );
    assert.ok(!hostileSlack.includes("<!channel>") && !hostileSlack.includes("<https://"));
    assert.ok(hostileSlack.includes("&lt;!channel&gt;"), hostileSlack);
    const hostileMail = smtp.mails.find((m) => m.subject.includes("channel"))!;
    // deno-lint-ignore no-control-regex
    assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(hostileMail.subject), hostileMail.subject);
    assert.ok(smtp.mails.every((m) => m.secure));
    assert.equal(await p.metric('notifications_total{channel="slack",outcome="sent"}'), 3);
    assert.equal(await p.metric('notifications_total{channel="email",outcome="sent"}'), 3);
    assert.equal(await p.metric('notifications_total{channel="slack",outcome="suppressed"}'), 2);
    assert.equal(await p.metric("alerts_invalid_total"), 3);
    for (const [offset, reason] of [[4, "not JSON"], [6, "score:"], [7, "over 4096"]] as const) {
      assert.equal(
        p.lines.filter((l) => l.includes("alert_invalid") && l.includes(`offset=${offset} `))
          .length,
        1,
        `offset ${offset} logged once`,
      );
      assert.ok(p.lines.some((l) => l.includes(`offset=${offset} `) && l.includes(reason)));
    }
    const stdout = p.output.join("\n");
    // deno-lint-ignore no-control-regex
    assert.ok(!/\u001b|\u0007/.test(stdout), "no escape sequence of an event reached the terminal");
    assert.match(stdout, /Sensor {5}: <!channel> <https:\/\/evil\.example\|click here> /);
    assert.match(stdout, /Sensor {5}: sensor-a/);
    assert.match(stdout, /Score {6}: 0\.9990 \(threshold: 0\.9800\)/);
  } finally {
    p.child.kill("SIGTERM");
    assert.equal((await p.status).code, 0);
  }
  const everything = [...p.lines, ...p.output].join("\n");
  assert.ok(p.lines.length > 3, "the run logged");
  assert.ok(!everything.includes(PASSWORD), "the SMTP password appears in no log line");
  assert.ok(
    !everything.includes(slack.url) && !everything.includes("SECRETTOKEN"),
    "the webhook URL appears nowhere",
  );
});

Deno.test("alerts: Slack down and SMTP refusing are retried, given up, counted, and the alert still committed", async () => {
  await using topic = await testTopic("alerts-down");
  const group = `g-${topic.name}`;
  const gone = startHttp();
  const url = gone.url;
  await gone[Symbol.asyncDispose]();
  await produce(topic.name, [{ key: "s", value: alert("s", 50) }]);
  const p = await startService("alerts", {
    TOPIC_ALERTS: topic.name,
    ALERTS_CONSUMER_GROUP: group,
    SLACK_WEBHOOK_URL: url,
    SMTP_ENABLED: "true",
    SMTP_HOST: "127.0.0.1",
    SMTP_PORT: "1",
    EMAIL_TO: "oncall@example.test",
    SMTP_PASSWORD: PASSWORD,
  });
  try {
    await waitFor(
      async () => (await committed(group, topic.name)).get(0) === 1,
      90_000,
      "alert committed after give-up",
    );
    assert.equal(await p.metric('notifications_total{channel="slack",outcome="failed"}'), 1);
    assert.equal(await p.metric('notifications_total{channel="email",outcome="failed"}'), 1);
    assert.ok(
      p.lines.some((l) => /notification_given_up channel=slack .*attempts=5/.test(l)),
      p.lines.join("\n"),
    );
    assert.ok(
      p.lines.some((l) =>
        /notification_given_up channel=email .*cannot reach 127\.0\.0\.1:1/.test(l)
      ),
    );
  } finally {
    p.child.kill("SIGTERM");
    await p.status;
  }
  const everything = p.lines.join("\n");
  assert.ok(!everything.includes(PASSWORD) && !everything.includes("SECRETTOKEN"));
});

Deno.test("test-email says it worked, or why not (auth refused)", async () => {
  await using smtp = await startSmtp("u@example.test", "right-one");
  const run = async (password: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "test-email"],
      env: {
        SMTP_HOST: "127.0.0.1",
        SMTP_PORT: String(smtp.port),
        SMTP_USER: "u@example.test",
        SMTP_PASSWORD: password,
        SMTP_CA_FILE: smtp.ca,
        EMAIL_TO: "x@example.test",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { code: out.code, text };
  };
  const ok = await run("right-one");
  assert.equal(ok.code, 0, ok.text);
  assert.match(ok.text, /test e-mail sent to x@example\.test via 127\.0\.0\.1:\d+/);
  assert.equal(smtp.mails.length, 1);
  const bad = await run("nope-wrong-123");
  assert.equal(bad.code, 1);
  assert.match(bad.text, /test e-mail failed \(auth\): authentication refused by 127\.0\.0\.1:\d+/);
  assert.ok(!bad.text.includes("nope-wrong-123"));
});
