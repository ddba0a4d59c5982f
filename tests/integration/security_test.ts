import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { startBroker, stopBroker } from "../../scripts/kafka.ts";
import { privateCa } from "../helpers/peers.ts";
import { startService, waitFor } from "../helpers/processor.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const PASSWORD = "alice-Secret-42";

Deno.test({
  name:
    "SASL/SCRAM-SHA-512 over TLS to a real broker: works with the right credentials, fails start-up clearly without",
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
    try {
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
