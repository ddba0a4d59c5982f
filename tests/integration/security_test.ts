import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { startBroker, stopBroker } from "../../scripts/kafka.ts";
import { privateCa } from "../helpers/peers.ts";
import { startService, waitFor } from "../helpers/processor.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const PASSWORD = "alice-Secret-42";

Deno.test({
  name:
    "SASL (plain, scram-sha-256, scram-sha-512) over TLS to a real broker for process, generate and alerts; start-up fails clearly without the right credentials",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ca = await privateCa("changeit");
    const dataDir = await Deno.makeTempDir({ prefix: "anomaly-flow-sasl-" });
    const options = {
      port: 19392,
      controllerPort: 19394,
      dataDir,
      heap: "256m",
      saslSsl: {
        port: 19393,
        keystore: ca.p12,
        keystorePassword: "changeit",
        users: [{ name: "alice", password: PASSWORD }],
      },
    };
    await startBroker(options);
    const secure = {
      KAFKA_BROKER: "127.0.0.1:19393",
      KAFKA_SSL: "true",
      KAFKA_SSL_CA_FILE: ca.ca,
      KAFKA_SASL_MECHANISM: "scram-sha-512",
      KAFKA_SASL_USERNAME: "alice",
    };
    const client = async (mechanism: "plain" | "scram-sha-256" | "scram-sha-512") =>
      new Kafka({
        brokers: ["127.0.0.1:19393"],
        ssl: { ca: [await Deno.readTextFile(ca.ca)] },
        sasl: { mechanism, username: "alice", password: PASSWORD } as never,
        logLevel: logLevel.NOTHING,
      });
    try {
      // Each mechanism the README names: the processor joins and processes an event.
      for (const mechanism of ["plain", "scram-sha-256"] as const) {
        const topic = `sec-${mechanism}`;
        const p = await startService("process", {
          ...secure,
          KAFKA_SASL_MECHANISM: mechanism,
          KAFKA_SASL_PASSWORD: PASSWORD,
          TOPIC_EVENTS: topic,
          TOPIC_ALERTS: `${topic}-alerts`,
          TOPIC_DLQ: `${topic}-dlq`,
          CONSUMER_GROUP: `g-${topic}`,
          CHECKPOINT_INTERVAL_SEC: "0",
        });
        try {
          const producer = (await client(mechanism)).producer();
          await producer.connect();
          await producer.send({
            topic,
            messages: [{
              value: JSON.stringify({ sensor_id: "s", ts: Date.now() / 1000, value: 1 }),
            }],
          });
          await producer.disconnect();
          await waitFor(
            async () => (await p.metric("processed_records_total")) === 1,
            30_000,
            `event processed over SASL_SSL with ${mechanism}`,
          );
        } finally {
          p.child.kill("SIGTERM");
          assert.equal((await p.status).code, 0);
        }
        assert.ok(!p.lines.join("\n").includes(PASSWORD), `${mechanism}: password in no log line`);
      }

      // generate and alerts over SASL_SSL too: 30 events produced, an alert read and committed.
      const gen = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "generate", "--count", "30", "--rate", "0"],
        env: { ...secure, KAFKA_SASL_PASSWORD: PASSWORD, TOPIC_EVENTS: "sec-gen" },
        stdout: "null",
        stderr: "piped",
      }).output();
      const genLog = new TextDecoder().decode(gen.stderr);
      assert.equal(gen.code, 0, genLog);
      assert.match(genLog, /generator_done sent=30/);
      assert.ok(!genLog.includes(PASSWORD));
      const admin = (await client("scram-sha-512")).admin();
      await admin.connect();
      const ends = await admin.fetchTopicOffsets("sec-gen");
      assert.equal(ends.reduce((a, e) => a + Number(e.high), 0), 30, "30 events on the topic");
      await admin.createTopics({ topics: [{ topic: "sec-alerts-in", numPartitions: 1 }] });
      await admin.disconnect();
      const producer = (await client("scram-sha-512")).producer();
      await producer.connect();
      await producer.send({
        topic: "sec-alerts-in",
        messages: [{
          value: JSON.stringify({
            type: "anomaly",
            sensor_id: "sec-sensor",
            ts: Date.now() / 1000,
            score: 0.99,
            threshold: 0.9,
            features: { value: 50 },
          }),
        }],
      });
      await producer.disconnect();
      const alerts = await startService("alerts", {
        ...secure,
        KAFKA_SASL_PASSWORD: PASSWORD,
        TOPIC_ALERTS: "sec-alerts-in",
        ALERTS_CONSUMER_GROUP: "sec-alerts-group",
      });
      try {
        await waitFor(
          () => alerts.output.some((l) => l.includes("Sensor     : sec-sensor")),
          30_000,
          "the alert printed by alerts over SASL_SSL",
        );
        assert.equal(await alerts.metric("alerts_consumed_total"), 1);
      } finally {
        alerts.child.kill("SIGTERM");
        assert.equal((await alerts.status).code, 0);
      }
      assert.ok(!alerts.lines.join("\n").includes(PASSWORD));

      // Right credentials: the processor creates its topics, joins, and processes an event.
      const p = await startService("process", {
        ...secure,
        KAFKA_SASL_PASSWORD: PASSWORD,
        TOPIC_EVENTS: "sec-events",
        TOPIC_ALERTS: "sec-alerts",
        TOPIC_DLQ: "sec-dlq",
      });
      try {
        const kafka = new Kafka({
          brokers: ["127.0.0.1:19393"],
          ssl: { ca: [await Deno.readTextFile(ca.ca)] },
          sasl: { mechanism: "scram-sha-512", username: "alice", password: PASSWORD },
          logLevel: logLevel.NOTHING,
        });
        const producer = kafka.producer();
        await producer.connect();
        await producer.send({
          topic: "sec-events",
          messages: [{
            value: JSON.stringify({ sensor_id: "s", ts: Date.now() / 1000, value: 1 }),
          }],
        });
        await producer.disconnect();
        await waitFor(
          async () => (await p.metric("processed_records_total")) === 1,
          30_000,
          "event processed over SASL_SSL",
        );
      } finally {
        p.child.kill("SIGTERM");
        assert.equal((await p.status).code, 0);
      }
      assert.ok(!p.lines.join("\n").includes(PASSWORD), "the SASL password is in no log line");

      const attempt = async (env: Record<string, string>) => {
        const started = Date.now();
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", MAIN, "process"],
          env: { ...secure, METRICS_PORT: "0", ...env },
          stdout: "null",
          stderr: "piped",
        }).output();
        return {
          code: out.code,
          text: new TextDecoder().decode(out.stderr),
          ms: Date.now() - started,
        };
      };
      // Wrong password: one clear line, no retry storm, quick exit.
      const wrong = await attempt({ KAFKA_SASL_PASSWORD: "not-the-password-99" });
      assert.equal(wrong.code, 2, wrong.text);
      assert.match(
        wrong.text,
        /Kafka at 127\.0\.0\.1:19393 refused the credentials of user "alice" \(scram-sha-512\)/,
      );
      assert.ok(!wrong.text.includes("not-the-password-99"));
      assert.ok(wrong.ms < 20_000, `gave up after ${wrong.ms} ms`);
      const server = await Deno.readTextFile(`${dataDir}/server.log`);
      const failures = server.match(/[Ff]ailed authentication/g)?.length ?? 0;
      assert.ok(failures <= 10, `${failures} authentication attempts: no retry storm`);
      console.log(`sasl_wrong_password_exit_ms=${wrong.ms} broker_auth_failures=${failures}`);
      // TLS without trusting the private CA: a TLS error, not a hang.
      const untrusted = await attempt({ KAFKA_SASL_PASSWORD: PASSWORD, KAFKA_SSL_CA_FILE: "" });
      assert.equal(untrusted.code, 2, untrusted.text);
      assert.match(untrusted.text, /TLS to Kafka at 127\.0\.0\.1:19393 failed/);
    } finally {
      await stopBroker(options);
      await Deno.remove(dataDir, { recursive: true });
      await Deno.remove(ca.dir, { recursive: true });
    }
  },
});
