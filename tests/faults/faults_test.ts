/**
 * The fault suite (`deno task test:faults`, also part of `deno task test`): while the generator
 * produces a known labelled stream, the processor is killed with SIGKILL 20 times at random
 * moments and restarted, the broker is stopped and restarted 5 times under a running processor,
 * and the alert consumer's Slack and SMTP peers fail for a while. At the end every produced
 * event is accounted for at least once, duplicates are counted, no alert is lost, and the
 * processor that lived through the broker outages needed no restart.
 *
 * Bounded: 20 kill cycles of at most ~10 s each, 5 broker outages of 3 s, a 12,000-event stream.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { startBroker, stopBroker } from "../../scripts/kafka.ts";
import { createRandom } from "../../src/random.ts";
import { selfSignedCert, startHttp, startSmtp } from "../helpers/peers.ts";
import {
  committed,
  freePort,
  type ProcessorProcess,
  readAll,
  startService,
  waitFor,
} from "../helpers/processor.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const BROKER = { port: 19592, controllerPort: 19594, heap: "384m" };
const ADDRESS = `127.0.0.1:${BROKER.port}`;
const EVENTS = 12_000;
const KILLS = 20;
const OUTAGES = 5;
const INVALID = new Set(["missing_value", "out_of_range", "stale"]);
/**
 * What the README promises of a run: `/readyz` 503 within 7 s of the broker going away (5 s
 * without a fetch, plus the time a fetch waits), duplicates under 5 % of the invalid events and of
 * the alerts, precision of the alerts on the labelled stream at least 0.9.
 */
const READYZ_DOWN_WITHIN_MS = 7000;
const MAX_DUPLICATE_SHARE = 0.05;
const MIN_PRECISION = 0.9;

const kafka = () =>
  new Kafka({ clientId: "faults", brokers: [ADDRESS], logLevel: logLevel.NOTHING });

async function readTopic(topic: string) {
  return (await readAll(topic, kafka())).map((m) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
    return { partition: m.partition, offset: m.offset, headers, value: m.value?.toString() ?? "" };
  });
}

async function committedTotal(group: string, topic: string): Promise<number> {
  const offsets = await committed(group, topic, kafka());
  return [...offsets.values()].reduce((a, o) => a + Math.max(0, o), 0);
}

Deno.test({
  name:
    "faults: 20 × kill -9, 5 broker restarts, failing Slack/SMTP: every event accounted for, no alert lost",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "anomaly-flow-faults-" });
    const options = { ...BROKER, dataDir };
    await startBroker(options);
    const rng = createRandom(2026);
    const tls = await selfSignedCert();
    const smtpPort = freePort();
    const peersBack = Date.now() + 60_000; // both peers fail for the first minute of alerts
    await using slack = startHttp([], peersBack);
    let smtp: Awaited<ReturnType<typeof startSmtp>> | undefined;
    const env = {
      KAFKA_BROKER: ADDRESS,
      TOPIC_EVENTS: "f-events",
      TOPIC_ALERTS: "f-alerts",
      TOPIC_DLQ: "f-dlq",
      CONSUMER_GROUP: "f-processor",
      CHECKPOINT_TOPIC: "f-checkpoints",
      CHECKPOINT_INTERVAL_SEC: "1",
      WORKERS: "2",
    };
    const generator = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "generate",
        "--rate",
        "120",
        "--count",
        String(EVENTS),
        "--seed",
        "77",
      ],
      env: { KAFKA_BROKER: ADDRESS, TOPIC_EVENTS: "f-events" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const generatorLog = new Response(generator.stderr).text();
    let alerts: ProcessorProcess | undefined;
    const processors: ProcessorProcess[] = [];
    const report: Record<string, number> = {};
    try {
      // (c) The alert consumer, with Slack answering 500 and SMTP down for the first minute.
      alerts = await startService("alerts", {
        ...env,
        ALERTS_CONSUMER_GROUP: "f-alerts-consumer",
        ALERT_COOLDOWN_SEC: "20",
        SLACK_WEBHOOK_URL: slack.url,
        SMTP_ENABLED: "true",
        SMTP_HOST: "127.0.0.1",
        SMTP_PORT: String(smtpPort),
        SMTP_CA_FILE: tls.cert,
        SMTP_USER: "u",
        SMTP_PASSWORD: "p",
        EMAIL_TO: "oncall@example.test",
      });
      const smtpStarts = (async () => {
        await new Promise((r) => setTimeout(r, peersBack - Date.now()));
        smtp = await startSmtp("u", "p", smtpPort, tls);
      })();

      // (a) 20 × kill -9 at random moments, (b) 5 broker outages under a running processor.
      let readyzDown = 0;
      for (let cycle = 0; cycle < KILLS; cycle++) {
        const p = await startService("process", env);
        processors.push(p);
        // Outages early, while the generator still produces (it runs ~100 s).
        if (cycle >= 1 && (report.outages ?? 0) < OUTAGES) {
          const before = await p.metric("processed_records_total");
          await stopBroker(options);
          const stoppedAt = Date.now();
          await waitFor(
            async () => {
              const r = await fetch(`http://127.0.0.1:${p.port}/readyz`);
              await r.body?.cancel();
              return r.status === 503;
            },
            READYZ_DOWN_WITHIN_MS,
            `/readyz to report the outage within ${READYZ_DOWN_WITHIN_MS} ms`,
          );
          readyzDown++;
          report.readyz_down_max_ms = Math.max(
            Number(report.readyz_down_max_ms ?? 0),
            Date.now() - stoppedAt,
          );
          // The broker stays away at least 3 s.
          await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + 3000 - Date.now())));
          await startBroker(options);
          report.outages = (report.outages ?? 0) + 1;
          // The same process goes on once the broker is back: no manual restart.
          await waitFor(
            async () => (await p.metric("processed_records_total")) > before,
            60_000,
            "processing after the outage",
          ).catch((e) => {
            throw new Error(`${e.message}; the processor's log:\n${p.lines.slice(-80).join("\n")}`);
          });
          await waitFor(
            async () => {
              const r = await fetch(`http://127.0.0.1:${p.port}/readyz`);
              await r.body?.cancel();
              return r.ok;
            },
            60_000,
            "/readyz back after the outage",
          );
        }
        await new Promise((r) => setTimeout(r, 300 + rng.next() * 2500));
        p.child.kill("SIGKILL");
        await p.status;
      }
      report.kills = KILLS;
      // Commits the group refused after a broker restart (the member was forgotten): each one
      // must end in a rejoin, not a stopped consumer.
      report.commits_refused = processors.reduce(
        (a, p) => a + p.lines.filter((l) => l.includes("commit_refused")).length,
        0,
      );
      report.readyz_down_during_outages = readyzDown;
      assert.equal(report.outages, OUTAGES);

      // The last processor runs until the whole stream is committed.
      const status = await generator.status;
      assert.ok(status.success, await generatorLog);
      const sent = Number((await generatorLog).match(/generator_done sent=(\d+)/)?.[1]);
      assert.equal(sent, EVENTS);
      const last = await startService("process", env);
      processors.push(last);
      await waitFor(
        async () => (await committedTotal("f-processor", "f-events")) === EVENTS,
        120_000,
        "the whole stream committed",
      );
      last.child.kill("SIGTERM");
      assert.equal((await last.status).code, 0);

      // Every produced event accounted for: invalid ones in the DLQ, valid ones committed after
      // processing (a commit follows the acknowledgement of everything the batch caused).
      const events = await readTopic("f-events");
      assert.equal(events.length, EVENTS);
      const invalid = new Set(
        events.filter((e) => INVALID.has(e.headers.injected)).map((e) =>
          `${e.partition}:${e.offset}`
        ),
      );
      const dlq = await readTopic("f-dlq");
      const dead = new Set(
        dlq.map((d) => `${d.headers.source_partition}:${d.headers.source_offset}`),
      );
      assert.deepEqual(
        [...invalid].filter((k) => !dead.has(k)),
        [],
        "every invalid event dead-lettered",
      );
      report.events = EVENTS;
      report.invalid = invalid.size;
      report.dead_letters = dlq.length;
      report.dead_letter_duplicates = dlq.length - dead.size;
      assert.ok(
        report.dead_letter_duplicates <= MAX_DUPLICATE_SHARE * invalid.size,
        `${report.dead_letter_duplicates} duplicate dead letters for ${invalid.size} invalid events`,
      );

      // Alerts: detection went on across the kills (checkpoints), duplicates counted.
      const published = await readTopic("f-alerts");
      const flagged = new Set(published.map((a) => {
        const alert = JSON.parse(a.value);
        return `${alert.partition}:${alert.offset}`;
      }));
      // Each partition has its own model: its first window (250 valid events) is warm-up, where
      // nothing is judged. Recall counts the anomalies after it; recall_all every one.
      const validSeen = new Map<number, number>();
      const judged = new Set<string>();
      for (const e of [...events].sort((a, b) => Number(a.offset) - Number(b.offset))) {
        if (INVALID.has(e.headers.injected)) continue;
        const seen = validSeen.get(e.partition) ?? 0;
        validSeen.set(e.partition, seen + 1);
        if (seen >= 250) judged.add(`${e.partition}:${e.offset}`);
      }
      const anomalies = events.filter((e) =>
        e.headers.injected === "value" || e.headers.injected === "temperature"
      );
      const isCaught = (e: { partition: number; offset: string }) =>
        flagged.has(`${e.partition}:${e.offset}`);
      const afterWarmUp = anomalies.filter((e) => judged.has(`${e.partition}:${e.offset}`));
      const caught = afterWarmUp.filter(isCaught).length;
      report.alerts = published.length;
      report.alert_duplicates = published.length - flagged.size;
      report.injected_anomalies = anomalies.length;
      report.judged_anomalies = afterWarmUp.length;
      report.recall = Number((caught / afterWarmUp.length).toFixed(3));
      report.recall_all = Number((anomalies.filter(isCaught).length / anomalies.length).toFixed(3));
      assert.ok(
        caught / afterWarmUp.length >= 0.95,
        `recall ${caught}/${afterWarmUp.length} after warm-up across 20 crashes`,
      );
      const injected = new Set(anomalies.map((e) => `${e.partition}:${e.offset}`));
      const truePositives = [...flagged].filter((k) => injected.has(k)).length;
      report.precision = Number((truePositives / flagged.size).toFixed(3));
      assert.ok(report.precision >= MIN_PRECISION, `precision ${report.precision}`);
      assert.ok(
        report.alert_duplicates <= MAX_DUPLICATE_SHARE * published.length,
        `${report.alert_duplicates} duplicate alerts of ${published.length}`,
      );

      // No alert lost by the consumer: all consumed and committed once the peers were back, and
      // each notification either sent or counted as given up.
      await smtpStarts;
      await waitFor(
        async () => (await committedTotal("f-alerts-consumer", "f-alerts")) === published.length,
        120_000,
        "the alert consumer to commit every alert",
      ).catch(async (e) => {
        const committed = await committedTotal("f-alerts-consumer", "f-alerts").catch(() => NaN);
        throw new Error(
          `${e.message} (${committed} of ${published.length} committed); the alert consumer's log:\n${
            alerts!.lines.slice(-80).join("\n")
          }`,
        );
      });
      const consumed = await alerts.metric("alerts_consumed_total");
      const counted = async (channel: string) =>
        (await alerts!.metric(`notifications_total{channel="${channel}",outcome="sent"}`)) +
        (await alerts!.metric(`notifications_total{channel="${channel}",outcome="failed"}`)) +
        (await alerts!.metric(`notifications_total{channel="${channel}",outcome="suppressed"}`));
      assert.equal(consumed, published.length);
      assert.equal(await counted("slack"), consumed);
      assert.equal(await counted("email"), consumed);
      report.slack_sent = await alerts.metric(
        'notifications_total{channel="slack",outcome="sent"}',
      );
      report.slack_given_up = await alerts.metric(
        'notifications_total{channel="slack",outcome="failed"}',
      );
      report.email_sent = await alerts.metric(
        'notifications_total{channel="email",outcome="sent"}',
      );
      report.email_given_up = await alerts.metric(
        'notifications_total{channel="email",outcome="failed"}',
      );
      assert.ok(
        report.slack_sent > 0 && report.email_sent > 0,
        "notifications flow again after the peers recover",
      );
      assert.ok(smtp!.mails.length > 0 && slack.bodies.length > 0);
    } finally {
      console.log(Object.entries(report).map(([k, v]) => `faults_${k}=${v}`).join("\n"));
      try {
        generator.kill("SIGKILL");
      } catch {
        // ended
      }
      for (const p of [...processors, ...(alerts ? [alerts] : [])]) {
        try {
          p.child.kill("SIGKILL");
        } catch {
          // ended
        }
        await p.status;
      }
      await smtp?.[Symbol.asyncDispose]();
      await stopBroker(options);
      await Deno.remove(dataDir, { recursive: true });
      await Deno.remove(tls.dir, { recursive: true });
    }
  },
});
