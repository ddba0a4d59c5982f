/**
 * `alerts`: consume `TOPIC_ALERTS`, print each alert as the seed's boxed block, notify Slack and
 * e-mail with storm control, and commit an alert's offset only after its notifications succeeded
 * or were given up after retries. `test-email`: send one test message with the same settings.
 *
 * Metrics on `ALERTS_METRICS_PORT` (8001): `notifications_total{channel,outcome}` with outcome
 * `sent`, `failed` (given up after retries) or `suppressed` (cooldown), `alerts_consumed_total`,
 * `alerts_invalid_total`.
 *
 * @module
 */
import { unreadableReason } from "./unreadable.ts";
import { Counter, Registry } from "prom-client";
import { type Config, loadConfig } from "./config.ts";
import { contractOfConfig } from "./options.ts";
import { connectionOf, createKafka, restartAfterTransientCrash, startingKafka } from "./kafka.ts";
import { logger, setupLogging } from "./log.ts";
import { serveMetrics } from "./metrics.ts";
import { createMailer, sendEmail, type SmtpSettings } from "./notify/email.ts";
import {
  type Alert,
  AlertSchema,
  consoleBlock,
  cooldownKeyOf,
  emailMessage,
  entityOf,
  slackMessage,
} from "./notify/format.ts";
import { postSlack } from "./notify/slack.ts";
import { ensureTopics, projectTopics } from "./topics.ts";
import { createStormControl } from "./notify/storm.ts";

/** SMTP settings from the configuration. */
export function smtpSettingsOf(config: Config): SmtpSettings {
  return {
    host: config.smtpHost,
    port: config.smtpPort,
    user: config.smtpUser || undefined,
    password: config.smtpPassword || undefined,
    from: config.emailFrom || config.smtpUser || "anomaly-flow@localhost",
    to: config.emailTo,
    caFile: config.smtpCaFile || undefined,
  };
}

function alertMetrics() {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    notifications: new Counter({
      name: "notifications_total",
      help: "Alert notifications by channel (slack, email) and outcome (sent, failed, suppressed).",
      labelNames: ["channel", "outcome"] as const,
      registers,
    }),
    consumed: new Counter({
      name: "alerts_consumed_total",
      help: "Alerts read from the alerts topic.",
      registers,
    }),
    invalid: new Counter({
      name: "alerts_invalid_total",
      help: "Records of the alerts topic that are not alerts (skipped).",
      registers,
    }),
  };
}

/** What {@link readAlert} found in one record of the alerts topic. */
export type AlertRead = { ok: true; alert: Alert } | { ok: false; reason: string };

/**
 * One record of the alerts topic, read as untrusted input: a record that is empty, larger than
 * `maxBytes`, one of a compressed batch that could not be read (`unreadable.ts`), not JSON, or
 * not an alert (a field missing or of the wrong type) is an `{ ok: false }` with the reason. Never
 * throws.
 */
export function readAlert(value: Uint8Array | null, maxBytes: number): AlertRead {
  if (!value || value.byteLength === 0) return { ok: false, reason: "empty record" };
  if (value.byteLength > maxBytes) {
    return { ok: false, reason: `${value.byteLength} bytes, over ${maxBytes}` };
  }
  const unreadable = unreadableReason(value);
  if (unreadable !== undefined) return { ok: false, reason: unreadable };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(value));
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  const parsed = AlertSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${issue.path.join(".") || "alert"}: ${issue.message}` };
  }
  return { ok: true, alert: parsed.data };
}

/**
 * The notifier of `alerts`: storm control per sensor, then Slack and e-mail in parallel, each
 * outcome counted in `notifications_total` and a give-up logged. Never throws.
 */
function createNotifier(
  config: Config,
  metrics: ReturnType<typeof alertMetrics>,
  // deno-lint-ignore no-explicit-any
  peers: { slack?: string; mailer?: any; smtp: SmtpSettings },
): (alert: Alert) => Promise<void> {
  const log = logger("alerts");
  const { slack, mailer, smtp } = peers;
  const storm = createStormControl(config.alertCooldownSec);
  for (const channel of ["slack", "email"]) {
    for (const outcome of ["sent", "failed", "suppressed"]) {
      metrics.notifications.inc({ channel, outcome }, 0);
    }
  }
  return async (alert) => {
    const decision = storm.admit(cooldownKeyOf(alert), Date.now() / 1000);
    const channels = [...(slack ? ["slack"] : []), ...(mailer ? ["email"] : [])];
    if (!decision.notify) {
      for (const channel of channels) metrics.notifications.inc({ channel, outcome: "suppressed" });
      return;
    }
    const deliveries = [];
    if (slack) {
      const message = slackMessage(alert, decision.suppressed);
      deliveries.push(postSlack(slack, message).then((r) => ["slack", r] as const));
    }
    if (mailer) {
      const message = emailMessage(alert, decision.suppressed);
      deliveries.push(sendEmail(mailer, smtp, message).then((r) => ["email", r] as const));
    }
    for (const [channel, r] of await Promise.all(deliveries)) {
      metrics.notifications.inc({ channel, outcome: r.ok ? "sent" : "failed" });
      if (!r.ok) {
        log.error("notification_given_up", {
          channel,
          entity: entityOf(alert),
          attempts: r.attempts,
          error: r.error,
        });
      }
    }
  };
}

/** Runs `alerts` until SIGINT/SIGTERM; returns the exit code. */
export async function runAlerts(args: string[]): Promise<number> {
  const loaded = loadConfig({ args });
  const { config } = loaded;
  // The stack shares one environment: a bad CONTRACT_FILE stops this command too.
  await contractOfConfig(loaded);
  setupLogging({ level: config.logLevel, format: config.logFormat });
  const log = logger("alerts");
  const metrics = alertMetrics();
  let ready = false, why = "starting";
  const server = serveMetrics({
    port: config.alertsMetricsPort,
    hostname: config.metricsHost,
    registry: metrics.registry,
    health: { ready: () => ready, reason: () => why },
    setting: "ALERTS_METRICS_PORT",
  });
  log.info("metrics_server_started", { port: server.addr.port });
  const smtp = smtpSettingsOf(config);
  const mailer = config.smtpEnabled ? await createMailer(smtp) : undefined;
  const slack = config.slackWebhookUrl || undefined;
  const notify = createNotifier(config, metrics, { slack, mailer, smtp });

  const conn = await connectionOf(config);
  const kafka = createKafka(conn, "anomaly-flow-alerts");
  const consumer = kafka.consumer({ groupId: config.alertsConsumerGroup, maxWaitTimeInMs: 100 });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    ready = true;
    why = "";
  });
  consumer.on(consumer.events.CRASH, (e) => {
    ready = false;
    why = `consumer crashed: ${e.payload.error.message}`;
    log.warning("consumer_crash", { error: e.payload.error.message, restart: e.payload.restart });
  });
  await startingKafka(conn, async () => {
    // The processor creates it too; whichever starts first.
    await ensureTopics(conn, [projectTopics(config)[1]]);
    await consumer.connect();
    await consumer.subscribe({ topic: config.topicAlerts, fromBeginning: true });
  });
  let stopping = false;
  let finish = (_code: number) => {};
  const stopped = new Promise<number>((resolve) => finish = resolve);
  const stop = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    why = reason;
    await consumer.disconnect().catch(() => {});
    await server.shutdown();
    finish(code);
  };
  const runConsumer = () =>
    consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        metrics.consumed.inc();
        const read = readAlert(message.value, config.maxEventBytes);
        if (read.ok) {
          console.log(consoleBlock(read.alert));
          await notify(read.alert);
        } else {
          metrics.invalid.inc();
          log.warning("alert_invalid", { partition, offset: message.offset, reason: read.reason });
        }
        await consumer.commitOffsets([{
          topic,
          partition,
          offset: (BigInt(message.offset) + 1n).toString(),
        }]);
      },
    });
  // A consumer whose group coordinator stayed away through kafkajs' retries (a broker restart)
  // is started again, as the processor's is; before, it stopped for good and the alerts queued.
  restartAfterTransientCrash(consumer, conn, config.topicAlerts, runConsumer, stop, () => stopping);
  await runConsumer();
  log.info("alert_consumer_started", {
    broker: config.kafkaBroker.join(","),
    topic: config.topicAlerts,
    slack: slack ? "on" : "off",
    email: mailer ? `on (${smtp.host}:${smtp.port})` : "off",
    cooldown_sec: config.alertCooldownSec,
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => void stop("shutting down", 0));
  }
  const code = await stopped;
  log.info("shutdown_complete");
  return code;
}

/** Runs `test-email`: sends one message; says whether it worked and, if not, why. */
export async function runTestEmail(args: string[]): Promise<number> {
  const loaded = loadConfig({ args });
  const { config } = loaded;
  // The stack shares one environment: a bad CONTRACT_FILE stops this command too.
  await contractOfConfig(loaded);
  setupLogging({ level: config.logLevel, format: config.logFormat });
  if (!config.smtpHost || config.emailTo.length === 0) {
    console.error(
      "test-email needs SMTP_HOST and EMAIL_TO (and SMTP_USER / SMTP_PASSWORD for AUTH)",
    );
    return 2;
  }
  const smtp = smtpSettingsOf(config);
  const r = await sendEmail(await createMailer(smtp), smtp, {
    subject: "[Anomaly Flow] test e-mail",
    text: `This is a test from Anomaly Flow, sent via ${smtp.host}:${smtp.port} at ${
      new Date().toISOString()
    }.\n`,
    html: `<p>This is a test from <b>Anomaly Flow</b>, sent via ${smtp.host}:${smtp.port}.</p>`,
  }, { attempts: 1 });
  if (r.ok) {
    console.log(`test e-mail sent to ${smtp.to.join(", ")} via ${smtp.host}:${smtp.port}`);
    return 0;
  }
  console.error(`test e-mail failed (${r.kind}): ${r.error}`);
  return 1;
}
