import assert from "node:assert/strict";
import { type Alert, consoleBlock, emailMessage, slackMessage } from "../../src/notify/format.ts";
import { createMailer, sendEmail, type SmtpSettings } from "../../src/notify/email.ts";
import { postSlack } from "../../src/notify/slack.ts";
import { createStormControl } from "../../src/notify/storm.ts";
import { displayWidth } from "../../src/notify/text.ts";
import { readAlert } from "../../src/alerts.ts";
import { UNREADABLE_PREFIX } from "../../src/unreadable.ts";

/** The value of a stand-in record of an unreadable compressed batch, with `reason`. */
const standInRecordValue = (reason: string) => new TextEncoder().encode(UNREADABLE_PREFIX + reason);
import { startHttp, startSmtp } from "../helpers/peers.ts";

const alert: Alert = {
  type: "anomaly",
  sensor_id: "sensor-2",
  ts: 1767364245,
  score: 0.9998,
  threshold: 0.9821,
  features: { value: 52.34, temperature: 25.1 },
  dq_issues: [],
};

Deno.test("storm control: one notification per sensor per cooldown, suppressed ones summarised next", () => {
  const storm = createStormControl(60);
  assert.deepEqual(storm.admit("a", 0), { notify: true, suppressed: 0 });
  for (let t = 1; t < 60; t += 1) assert.deepEqual(storm.admit("a", t), { notify: false });
  assert.deepEqual(storm.admit("b", 30), { notify: true, suppressed: 0 });
  assert.deepEqual(storm.admit("a", 60), { notify: true, suppressed: 59 });
  assert.deepEqual(storm.admit("a", 61), { notify: false });
  // 10,000 alerts of one sensor in 10 minutes: 10 notifications.
  const burst = createStormControl(60);
  let sent = 0;
  for (let i = 0; i < 10_000; i++) if (burst.admit("s", i * 0.06).notify) sent++;
  assert.equal(sent, 10);
});

Deno.test("storm control forgets sensors that would be notified afresh, keeps those with news", () => {
  const storm = createStormControl(60);
  // 100,000 accounts alert once each within a minute; one of them twice.
  for (let i = 0; i < 100_000; i++) storm.admit(`acc-${i}`, i * 0.0005);
  assert.deepEqual(storm.admit("acc-7", 50), { notify: false });
  assert.equal(storm.size, 100_000);
  // A cooldown later only the account with a suppressed alert is remembered.
  assert.deepEqual(storm.admit("other", 120), { notify: true, suppressed: 0 });
  assert.equal(storm.size, 2);
  assert.deepEqual(storm.admit("acc-7", 121), { notify: true, suppressed: 1 });
  assert.deepEqual(storm.admit("acc-8", 121), { notify: true, suppressed: 0 });
});

Deno.test("the console block is the seed's box with sensor, time, score and threshold, features", () => {
  const block = consoleBlock(alert, 3);
  const lines = block.split("\n");
  assert.ok(lines[0].startsWith("╔") && lines.at(-1)!.startsWith("╚"));
  assert.match(block, /Sensor {5}: sensor-2/);
  assert.match(block, /Timestamp {2}: 2026-01-02 14:30:45 UTC/);
  assert.match(block, /Score {6}: 0\.9998 \(threshold: 0\.9821\)/);
  assert.match(block, /Features {3}: value=52\.34, temperature=25\.1/);
  assert.match(block, /3 more alerts/);
  const widths = new Set(lines.map(displayWidth));
  assert.deepEqual([...widths], [64], "every line of the box, the title too, is 64 columns");
});

Deno.test("Slack and e-mail messages say what happened; HTML is escaped", () => {
  assert.match(slackMessage(alert).text, /sensor-2.*0\.9998.*0\.9821/s);
  assert.match(slackMessage(alert, 12).text, /12 more alerts/);
  const mail = emailMessage({ ...alert, sensor_id: "<b>x</b>" });
  assert.match(mail.subject, /anomaly on <b>x<\/b>/);
  assert.ok(mail.html.includes("&lt;b&gt;x&lt;/b&gt;") && !mail.html.includes("<b>x</b>"));
  assert.match(mail.text, /Features {2}: value=52\.34/);
});

const noWait = { sleep: () => Promise.resolve() };

Deno.test("Slack: delivered to a real HTTP server; 500s are retried", async () => {
  await using peer = startHttp([{ status: 500 }, { status: 503 }]);
  const r = await postSlack(peer.url, slackMessage(alert), noWait);
  assert.deepEqual(r, { ok: true, attempts: 3 });
  assert.equal(peer.hits, 3);
  assert.match((peer.bodies[0] as { text: string }).text, /sensor-2/);
});

Deno.test("Slack: 429 waits for Retry-After; other 4xx give up at once", async () => {
  const waits: number[] = [];
  await using limited = startHttp([{ status: 429, headers: { "retry-after": "2" } }]);
  const r = await postSlack(limited.url, slackMessage(alert), {
    sleep: (ms) => (waits.push(ms), Promise.resolve()),
  });
  assert.equal(r.ok, true);
  assert.deepEqual(waits, [2000]);
  await using gone = startHttp([{ status: 404 }]);
  const r2 = await postSlack(gone.url, slackMessage(alert), noWait);
  assert.equal(r2.ok, false);
  assert.equal(r2.attempts, 1);
  assert.match(r2.error!, /HTTP 404/);
});

Deno.test("Slack: a server that is down is retried, then reported without the webhook URL", async () => {
  const peer = startHttp();
  const url = peer.url;
  await peer[Symbol.asyncDispose]();
  const r = await postSlack(url, slackMessage(alert), { ...noWait, attempts: 3 });
  assert.equal(r.ok, false);
  assert.equal(r.attempts, 3);
  assert.match(r.error!, /network error/);
  assert.ok(!r.error!.includes("SECRETTOKEN"), r.error);
});

Deno.test("e-mail: a real SMTP server with STARTTLS and AUTH receives text and HTML", async () => {
  await using smtp = await startSmtp("alerts@example.test", "s3cret-pass");
  const settings: SmtpSettings = {
    host: "127.0.0.1",
    port: smtp.port,
    user: "alerts@example.test",
    password: "s3cret-pass",
    from: "Anomaly Flow <alerts@example.test>",
    to: ["oncall@example.test"],
    caFile: smtp.ca,
  };
  const r = await sendEmail(await createMailer(settings), settings, emailMessage(alert), noWait);
  assert.deepEqual(r, { ok: true, attempts: 1 });
  assert.equal(smtp.mails.length, 1);
  const mail = smtp.mails[0];
  assert.equal(mail.secure, true, "upgraded with STARTTLS");
  assert.equal(mail.user, "alerts@example.test");
  assert.match(mail.subject, /anomaly on sensor-2/);
  assert.match(mail.text, /Score {5}: 0\.9998/);
  assert.match(mail.html, /<table>/);
  assert.match(mail.to, /oncall@example\.test/);
});

Deno.test("e-mail: a refused login is reported at once, without the password", async () => {
  await using smtp = await startSmtp("alerts@example.test", "right");
  const settings: SmtpSettings = {
    host: "127.0.0.1",
    port: smtp.port,
    user: "alerts@example.test",
    password: "wrong-pass-123",
    from: "a@example.test",
    to: ["b@example.test"],
    caFile: smtp.ca,
  };
  const r = await sendEmail(await createMailer(settings), settings, emailMessage(alert), noWait);
  assert.equal(r.ok, false);
  assert.equal(r.kind, "auth");
  assert.equal(r.attempts, 1);
  assert.match(r.error!, /authentication refused by 127\.0\.0\.1:\d+/);
  assert.ok(!r.error!.includes("wrong-pass-123"));
  assert.equal(smtp.refused, 1);
});

Deno.test("e-mail: an untrusted certificate is a TLS failure; a closed port is retried then reported", async () => {
  await using smtp = await startSmtp("u", "p");
  const base: SmtpSettings = {
    host: "127.0.0.1",
    port: smtp.port,
    user: "u",
    password: "p",
    from: "a@x.test",
    to: ["b@x.test"],
  };
  const tls = await sendEmail(await createMailer(base), base, emailMessage(alert), noWait);
  assert.equal(tls.ok, false);
  assert.equal(tls.kind, "tls", tls.error);
  const closed = { ...base, port: 1 };
  const down = await sendEmail(await createMailer(closed), closed, emailMessage(alert), {
    ...noWait,
    attempts: 3,
  });
  assert.equal(down.ok, false);
  assert.equal(down.kind, "connection");
  assert.equal(down.attempts, 3);
});

/** Whoever can write an event chooses this sensor id. */
const HOSTILE = "<!channel> <https://evil.example|click here> \u001b[2J\u001b[31mred\nline2";
const hostile: Alert = {
  ...alert,
  sensor_id: HOSTILE,
  features: { "value\u001b[31m<@U123>": 52.34, temperature: 25.1 },
};

/** Control characters (C0, DEL, C1). */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

Deno.test("console: an event's control characters are shown escaped, never emitted; the box stays aligned", () => {
  for (
    const sensor of [
      HOSTILE,
      "温度センサー-東京-第三工場-ライン七-温度センサー-東京-第三工場-ライン七",
      "🔥🧯 boiler 👩‍🔧 e\u0301 tab\there \u0085 \u009b31m \u202eevil",
      "x".repeat(500),
    ]
  ) {
    const block = consoleBlock({ ...hostile, sensor_id: sensor }, 2);
    const lines = block.split("\n");
    assert.equal(lines.length, 9, "no forged line");
    for (const line of lines) {
      assert.ok(!CONTROL.test(line), `no control character: ${JSON.stringify(line)}`);
      assert.equal(displayWidth(line), 64, `aligned: ${line}`);
    }
  }
  const block = consoleBlock({ ...hostile, sensor_id: "\u001b[2J\u001b[31mred\nline2\u007f" });
  assert.ok(block.includes("Sensor     : \\u001b[2J\\u001b[31mred\\u000aline2\\u007f "), block);
  assert.ok(consoleBlock({ ...hostile, sensor_id: "x".repeat(500) }).includes("x…"), "cut");
  // A time no calendar holds is shown, not thrown.
  assert.match(consoleBlock({ ...alert, ts: 1e300 }), /Timestamp {2}: ts=1e\+300/);
});

Deno.test("Slack: no event value makes a mention, a channel or user link, or a link", () => {
  const { text, blocks } = slackMessage(hostile, 1);
  for (const t of [text, ...blocks.map((b) => (b as { text: { text: string } }).text.text)]) {
    assert.ok(!/<[!@#]|<https?:|<mailto:/i.test(t), t);
    assert.ok(!/https?:\/\//.test(t) && !/evil\.example/.test(t), `no URL Slack would link: ${t}`);
    assert.ok(!CONTROL.test(t.replaceAll("\n", "")), t);
  }
  for (const t of [text, (blocks[0] as { text: { text: string } }).text.text]) {
    assert.ok(t.includes("&lt;!channel&gt;"), "shown, escaped as Slack documents");
  }
  // Only the message's own line breaks: the event's newline is not one.
  assert.equal(text.split("\n").length, 4);
});

Deno.test("e-mail: subject and text carry no control character from an event; HTML escaped", () => {
  const mail = emailMessage(hostile, 1);
  assert.ok(!CONTROL.test(mail.subject), mail.subject);
  assert.ok(!CONTROL.test(mail.text.replaceAll("\n", "")), mail.text);
  assert.equal(mail.text.split("\n").length, 6, "no forged line");
  assert.ok(!mail.html.includes("<!channel>") && mail.html.includes("&lt;!channel&gt;"));
  assert.ok(!CONTROL.test(mail.html));
});

Deno.test("alerts topic: a record that is empty, too large, not JSON or of the wrong shape is refused with a reason", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const ok = JSON.stringify({ ...alert });
  assert.equal(readAlert(bytes(ok), 1000).ok, true);
  const reasons = [
    readAlert(null, 1000),
    readAlert(bytes(""), 1000),
    readAlert(bytes(ok), 20),
    readAlert(bytes("{not json"), 1000),
    readAlert(new Uint8Array([0xff, 0xfe, 0x00]), 1000),
    readAlert(bytes(JSON.stringify({ ...alert, score: "high" })), 1000),
    readAlert(bytes(JSON.stringify({ ...alert, features: { value: "x" } })), 1000),
    readAlert(bytes(JSON.stringify({ ...alert, sensor_id: 7 })), 1000),
    readAlert(bytes('{"type":"anomaly","sensor_id":"s","ts":1e999,"score":1,"threshold":1}'), 1000),
    readAlert(bytes("[]"), 1000),
    readAlert(standInRecordValue("unreadable lz4 batch of 3 records"), 1000),
  ].map((r) => (assert.equal(r.ok, false), (r as { reason: string }).reason));
  assert.match(reasons[0], /empty/);
  assert.match(reasons[2], /over 20/);
  assert.match(reasons[3], /not JSON/);
  assert.match(reasons[5], /^score:/);
  assert.match(reasons[6], /^features\.value:/);
  assert.match(reasons[8], /^ts:/);
  assert.equal(reasons[10], "unreadable lz4 batch of 3 records");
});

Deno.test("Slack and e-mail: the hostile alert through a real HTTP peer and a real SMTP server", async () => {
  await using peer = startHttp();
  assert.equal((await postSlack(peer.url, slackMessage(hostile), noWait)).ok, true);
  const received = JSON.stringify(peer.bodies[0]);
  assert.ok(!received.includes("<!channel>") && !received.includes("<https://"), received);
  assert.ok(!/\\u001b|\\n(?!\*)/.test(received.replace(/\\\\u001b/g, "")), received);
  await using smtp = await startSmtp("alerts@example.test", "pw-123456");
  const settings: SmtpSettings = {
    host: "127.0.0.1",
    port: smtp.port,
    user: "alerts@example.test",
    password: "pw-123456",
    from: "a@example.test",
    to: ["b@example.test"],
    caFile: smtp.ca,
  };
  const r = await sendEmail(await createMailer(settings), settings, emailMessage(hostile), noWait);
  assert.equal(r.ok, true, r.error);
  const mail = smtp.mails[0];
  assert.ok(!CONTROL.test(mail.subject), mail.subject);
  assert.match(mail.subject, /anomaly on <!channel> <https:\/\/evil\.example\|click here> \\u001b/);
  assert.ok(!CONTROL.test(mail.text.replaceAll("\n", "")), mail.text);
  assert.ok(mail.html.includes("&lt;!channel&gt;") && !mail.html.includes("<!channel>"));
});

Deno.test("every channel says which feature drove the alert: actual vs the entity's typical value", () => {
  const explained: Alert = {
    ...alert,
    explain: [
      { feature: "value", actual: 52.34, typical: 1.2, deviation: 12.4 },
      { feature: "temperature", actual: 25.1, typical: 24.9, deviation: 0.3 },
    ],
  };
  const block = consoleBlock(explained);
  assert.match(block, /Why {8}: value 52\.34 \(typical 1\.2, \+12\.4 sd\)/);
  assert.ok(block.split("\n").every((l) => displayWidth(l) === 64));
  assert.match(slackMessage(explained).text, /\*Why:\* value 52\.34 \(typical 1\.2, \+12\.4 sd\)/);
  assert.match(emailMessage(explained).text, /Why {7}: value 52\.34 \(typical 1\.2, \+12\.4 sd\)/);
  assert.ok(!consoleBlock(alert).includes("Why"), "no line without an explanation");
});

Deno.test("the Why line shows the feature that decided the alert, even when another deviates more", () => {
  // A coarse temperature's 6.2 sd is routine for it; the value's day mean decided the alert.
  const decided: Alert = {
    ...alert,
    explain: [
      { feature: "temperature", actual: 31, typical: 24.9, deviation: 6.2 },
      { feature: "value", actual: 61, typical: 55.2, deviation: 5.1, by: "day" },
    ],
    cause: { basis: "day", feature: "value" },
  };
  const line = /Why {8}: value 61 \(day mean; weekday's 55\.2, \+5\.1 sd\)/;
  assert.match(consoleBlock(decided), line);
  assert.match(slackMessage(decided).text, /value 61 \(day mean; weekday's 55\.2, \+5\.1 sd\)/);
  assert.match(emailMessage(decided).text, /value 61 \(day mean; weekday's 55\.2, \+5\.1 sd\)/);
  // Decided by the forest (no feature of its own): the largest deviation.
  const forest: Alert = { ...decided, cause: { basis: "forest", feature: "all" } };
  assert.match(consoleBlock(forest), /Why {8}: temperature 31 \(typical 24\.9, \+6\.2 sd\)/);
});

Deno.test("every channel says what a deviation measures when it is not the value's own distance", () => {
  const cases = [
    ["change", /Why {8}: value 61 \(from 55\.2, a jump of \+6\.1 sd\)/],
    ["recent", /Why {8}: value 61 \(typical 55\.2, recent level \+6\.1 sd\)/],
    ["drift", /Why {8}: value 61 \(typical 55\.2, drifting \+6\.1 sd\)/],
    ["day", /Why {8}: value 61 \(day mean; weekday's 55\.2, \+6\.1 sd\)/],
    ["record", /Why {8}: value 61 \(highest in weeks 55\.2, \+6\.1 sd\)/],
  ] as const;
  for (const [by, line] of cases) {
    const explained: Alert = {
      ...alert,
      explain: [{ feature: "value", actual: 61, typical: 55.2, deviation: 6.1, by }],
    };
    const block = consoleBlock(explained);
    assert.match(block, line);
    assert.ok(block.split("\n").every((l) => displayWidth(l) === 64));
    const text = line.source.replace("Why {8}: ", "");
    assert.match(slackMessage(explained).text, new RegExp(text));
    assert.match(emailMessage(explained).text, new RegExp(text));
  }
  // A record below: the least value of the weeks before.
  const low: Alert = {
    ...alert,
    explain: [{ feature: "value", actual: 2.08, typical: 48.39, deviation: -6.15, by: "record" }],
  };
  assert.match(consoleBlock(low), /Why {8}: value 2\.08 \(lowest in weeks 48\.39, -6\.15 sd\)/);
});
