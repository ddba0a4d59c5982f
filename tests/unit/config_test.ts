import assert from "node:assert/strict";
import { ConfigError, loadConfig, SETTINGS } from "../../src/config.ts";

const load = (env: Record<string, string>, args: string[] = []) => loadConfig({ env, args }).config;

function rejects(
  env: Record<string, string>,
  setting: string,
  pattern: RegExp,
  args: string[] = [],
) {
  assert.throws(() => load(env, args), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    assert.equal(e.setting, setting);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), "the error is one line");
    return true;
  });
}

Deno.test("defaults are the seed's", () => {
  const c = load({});
  assert.deepEqual(c.kafkaBroker, ["localhost:9092"]);
  assert.equal(c.topicEvents, "events");
  assert.equal(c.topicAlerts, "alerts");
  assert.equal(c.topicDlq, "events.dlq");
  assert.deepEqual([c.valueMin, c.valueMax, c.temperatureMin, c.temperatureMax], [
    -100,
    100,
    -20,
    80,
  ]);
  assert.equal(c.freshnessMaxLagSec, 300);
  assert.equal(c.quantileP, 0.995);
  assert.deepEqual([c.hstNTrees, c.hstHeight, c.hstWindowSize], [25, 15, 250]);
  assert.equal(c.metricsPort, 8000);
});

Deno.test("environment is read and flags override it", () => {
  const c = load(
    { KAFKA_BROKER: "a:1,b:2", QUANTILE_P: "0.99", HST_N_TREES: "10" },
    ["--quantile-p", "0.9", "--workers", "3"],
  );
  assert.deepEqual(c.kafkaBroker, ["a:1", "b:2"]);
  assert.equal(c.quantileP, 0.9);
  assert.equal(c.hstNTrees, 10);
  assert.equal(c.workers, 3);
});

Deno.test("a bad value names the setting, the value and what is allowed", () => {
  rejects(
    { QUANTILE_P: "1.5" },
    "QUANTILE_P",
    /QUANTILE_P \(--quantile-p\) = "1\.5": expected a number > 0 and < 1/,
  );
  rejects({ QUANTILE_P: "abc" }, "QUANTILE_P", /"abc"/);
  rejects(
    { HST_N_TREES: "2.5" },
    "HST_N_TREES",
    /HST_N_TREES .* = "2\.5": expected an integer in 1\.\.1000/,
  );
  rejects({ HST_HEIGHT: "0" }, "HST_HEIGHT", /expected an integer in 1\.\.24/);
  rejects(
    { KAFKA_BROKER: "no-port" },
    "KAFKA_BROKER",
    /expected a comma-separated list of host:port/,
  );
  rejects({ LOG_FORMAT: "xml" }, "LOG_FORMAT", /expected one of text, json/);
  rejects({ THRESHOLD_MODE: "magic" }, "THRESHOLD_MODE", /expected one of quantile, adaptive/);
  rejects({ FRESHNESS_MAX_LAG_SEC: "-1" }, "FRESHNESS_MAX_LAG_SEC", /a number >= 0/);
  rejects({}, "HST_WINDOW_SIZE", /--hst-window-size\) = "0"/, ["--hst-window-size", "0"]);
});

Deno.test("a built-in feature's range beyond ±1e15 is refused", () => {
  rejects({ VALUE_MAX: "1e300" }, "VALUE_MAX", /expected a number within ±1e15, above VALUE_MIN/);
  rejects({ TEMPERATURE_MIN: "-1e16" }, "TEMPERATURE_MIN", /within ±1e15/);
  assert.equal(loadConfig({ env: { VALUE_MAX: "1e15" }, args: [] }).config.valueMax, 1e15);
});

Deno.test("a topic name the broker would refuse is refused at start-up", () => {
  const allowed = /expected a topic name: 1–249 letters, digits, '\.', '_' or '-'/;
  rejects({ TOPIC_EVENTS: "sensor events" }, "TOPIC_EVENTS", allowed);
  rejects({ TOPIC_ALERTS: "alerts/eu" }, "TOPIC_ALERTS", allowed);
  rejects({ TOPIC_DLQ: ".." }, "TOPIC_DLQ", allowed);
  rejects({ CHECKPOINT_TOPIC: "x".repeat(250) }, "CHECKPOINT_TOPIC", allowed);
  const ok = loadConfig({ env: { TOPIC_EVENTS: "plant-7.sensors_v2" }, args: [] }).config;
  assert.equal(ok.topicEvents, "plant-7.sensors_v2");
});

Deno.test("an empty range is refused, naming both bounds", () => {
  rejects({ VALUE_MIN: "10", VALUE_MAX: "5" }, "VALUE_MIN", /VALUE_MIN .*"10".*VALUE_MAX=5/);
});

Deno.test("an unknown flag is refused", () => {
  rejects({}, "flags", /invalid command line/, ["--no-such-flag", "1"]);
});

Deno.test("every setting's default passes its own validation", () => {
  for (const spec of Object.values(SETTINGS)) {
    assert.ok(spec.schema.safeParse(spec.default).success, `${spec.env} default ${spec.default}`);
  }
});

Deno.test("alert settings: e-mail needs a host and recipients; a bad secret is never echoed", () => {
  rejects(
    { SMTP_ENABLED: "true", EMAIL_TO: "a@b.test" },
    "SMTP_HOST",
    /SMTP_HOST .*required when SMTP_ENABLED=true/,
  );
  rejects({ SMTP_ENABLED: "true", SMTP_HOST: "mail" }, "EMAIL_TO", /EMAIL_TO/);
  rejects({ EMAIL_TO: "not-an-address" }, "EMAIL_TO", /comma-separated addresses/);
  rejects({ SMTP_ENABLED: "maybe" }, "SMTP_ENABLED", /expected true or false/);
  assert.throws(() => load({ SLACK_WEBHOOK_URL: "ftp://hooks.example/T/SECRET" }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(
      e.message,
      /SLACK_WEBHOOK_URL .* = \(value hidden\): expected empty \(Slack off\) or an http\(s\) URL/,
    );
    assert.ok(!e.message.includes("SECRET"));
    return true;
  });
  const c = load({ SMTP_ENABLED: "true", SMTP_HOST: "mail", EMAIL_TO: "a@b.test, c@d.test" });
  assert.deepEqual(c.emailTo, ["a@b.test", "c@d.test"]);
  assert.equal(c.smtpPort, 587);
});

Deno.test("Kafka security settings: a SASL mechanism needs a user; the password is never echoed", () => {
  rejects(
    { KAFKA_SASL_MECHANISM: "scram-sha-512" },
    "KAFKA_SASL_USERNAME",
    /required with a SASL mechanism/,
  );
  rejects(
    { KAFKA_SASL_MECHANISM: "kerberos" },
    "KAFKA_SASL_MECHANISM",
    /one of none, plain, scram-sha-256, scram-sha-512/,
  );
  const c = load({
    KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
    KAFKA_SASL_USERNAME: "alice",
    KAFKA_SASL_PASSWORD: "p",
    KAFKA_SSL: "true",
  });
  assert.equal(c.kafkaSaslMechanism, "scram-sha-512");
  assert.equal(c.kafkaSsl, true);
  rejects({ MAX_EVENT_BYTES: "0" }, "MAX_EVENT_BYTES", /an integer in 1\.\.104857600/);
});

Deno.test("TIME_ZONE is an IANA zone, UTC by default", () => {
  assert.equal(load({}).timeZone, "UTC");
  assert.equal(load({ TIME_ZONE: "America/New_York" }).timeZone, "America/New_York");
  rejects(
    { TIME_ZONE: "Mars/Olympus" },
    "TIME_ZONE",
    /TIME_ZONE \(--time-zone\) = "Mars\/Olympus": expected an IANA time zone such as Europe\/Berlin/,
  );
});
