import assert from "node:assert/strict";
import {
  addToDay,
  DAY_SEC,
  DAY_SLOTS,
  type DayJudgement,
  startDays,
} from "../../src/baseline/period.ts";
import { BASES, createBaselines, createJudgement, deviationForRate } from "../../src/baseline.ts";
import { createRandom } from "../../src/random.ts";

const START = 1767225600; // a Thursday, 00:00 UTC
const EVERY = 300;
const Z_DEFAULT = deviationForRate(5e-6);

/** Readings every 5 minutes: a daily cycle, weekends 3 noise sd higher, Gaussian noise. */
function reading(t: number, rng: ReturnType<typeof createRandom>, level = 20): number {
  const hour = Math.sin(2 * Math.PI * (t % DAY_SEC) / DAY_SEC);
  const weekday = Math.floor((t - START) / DAY_SEC) % 7; // 0 Thursday … 2 Saturday, 3 Sunday
  return level + 5 * hour + (weekday === 2 || weekday === 3 ? 3 : 0) + rng.normal();
}

Deno.test("a day unlike its weekday alerts; the weekly and daily cycles do not", () => {
  const rng = createRandom(4, 1);
  const s = new Float64Array(DAY_SLOTS);
  startDays(s, 0);
  const judged: { day: number; j: DayJudgement }[] = [];
  const holiday = 9 * 7 + 1; // a Friday in week 10: it runs like a Sunday, 3 sd up
  for (let t = START; t < START + 12 * 7 * DAY_SEC; t += EVERY) {
    const day = Math.floor((t - START) / DAY_SEC);
    const v = day === holiday ? reading(t, rng) + 3 : reading(t, rng);
    const j = addToDay(s, 0, v, t);
    // The judgement comes with the first event of the next day, about the day before.
    if (j) judged.push({ day: day - 1, j });
  }
  // Judged from about the fourth week, once each weekday's offset is known; then every day.
  assert.ok(judged[0].day >= 14 && judged[0].day <= 28, `first judged day ${judged[0].day}`);
  assert.equal(judged.length, 12 * 7 - 1 - judged[0].day, "every day after the first judged");
  const alerts = judged.filter(({ j }) => j.calibrated >= Z_DEFAULT).map(({ day }) => day);

  assert.deepEqual(alerts, [holiday], "only the holiday alerts");
  const h = judged.find(({ day }) => day === holiday)!.j;
  assert.ok(Math.abs(h.mean - 23) < 0.1, `the day's mean ${h.mean}`);
  assert.ok(Math.abs(h.typical - 20) < 0.2, `a Friday's typical mean ${h.typical}`);
  assert.ok(h.z > 20, `deviation ${h.z} sd of a day's mean`);
});

Deno.test("days alert at about the target rate, and a late event does not reopen a day", () => {
  // 40 entities, 150 days of Gaussian readings with daily and weekly cycles: judged days at
  // 1e-2 alert about 1 % of the time.
  const rng = createRandom(9, 2);
  const n = 40, s = new Float64Array(n * DAY_SLOTS);
  for (let e = 0; e < n; e++) startDays(s, e * DAY_SLOTS);
  const z = deviationForRate(1e-2);
  let judged = 0, alerts = 0;
  for (let t = START; t < START + 150 * DAY_SEC; t += EVERY) {
    for (let e = 0; e < n; e++) {
      const j = addToDay(s, e * DAY_SLOTS, reading(t, rng, 10 + e), t);
      if (!j) continue;
      judged++;
      if (j.calibrated >= z) alerts++;
    }
  }
  const ratio = alerts / judged / 1e-2;
  assert.ok(judged > 4000, `${judged} days judged`);
  assert.ok(ratio > 0.4 && ratio < 1.6, `alert rate ${ratio.toFixed(2)} × the target`);
  // An event of an earlier day counts in the day under way: nothing is judged twice.
  const late = addToDay(s, 0, 1e6, START);
  assert.equal(late, undefined);
});

Deno.test("baselines: the day decides with basis `day`, the day's mean as the actual value", () => {
  const rng = createRandom(6, 3);
  const b = createBaselines(1);
  const out = createJudgement(1);
  const outage = 40; // a day at a quarter of the usual traffic, hour by hour
  let found: { basis: string; actual: number; typical: number; calibrated: number } | undefined;
  for (let t = START; t < START + 8 * 7 * DAY_SEC; t += EVERY) {
    const day = Math.floor((t - START) / DAY_SEC);
    const usual = 1000 + 400 * Math.sin(2 * Math.PI * (t % DAY_SEC) / DAY_SEC) + 30 * rng.normal();
    b.judgeLearn("route-7", [day === outage ? usual / 4 : usual], t, out);
    if (day === outage + 1 && found === undefined) {
      found = {
        basis: BASES[out.basis[0]],
        actual: out.actual[0],
        typical: out.typical[0],
        calibrated: out.calibrated[0],
      };
    }
    if (day !== outage + 1) assert.ok(Number.isNaN(out.actual[0]) || BASES[out.basis[0]] === "day");
  }
  assert.ok(found, "the day after the outage was judged");
  assert.equal(found.basis, "day");
  assert.ok(Math.abs(found.actual - 250) < 10, `the outage day's mean ${found.actual}`);
  assert.ok(Math.abs(found.typical - 1000) < 20, `its weekday's typical mean ${found.typical}`);
  assert.ok(found.calibrated >= Z_DEFAULT);
});

Deno.test("a lasting change alerts for three days, then is the new normal", () => {
  const rng = createRandom(8, 4);
  const s = new Float64Array(DAY_SLOTS);
  startDays(s, 0);
  const stepDay = 8 * 7 + 3; // from a Sunday in week 9 on, every reading 4 sd lower
  const alerts: number[] = [];
  for (let t = START; t < START + 14 * 7 * DAY_SEC; t += EVERY) {
    const day = Math.floor((t - START) / DAY_SEC);
    const j = addToDay(s, 0, reading(t, rng) - (day >= stepDay ? 4 : 0), t);
    if (j && j.calibrated >= Z_DEFAULT) alerts.push(day - 1);
  }
  assert.deepEqual(alerts, [stepDay, stepDay + 1, stepDay + 2]);
});

Deno.test("a day cut short (a sensor that stopped at noon) is neither judged nor learned", () => {
  const rng = createRandom(10, 5);
  const s = new Float64Array(DAY_SLOTS);
  startDays(s, 0);
  const cut = 6 * 7; // a Thursday: readings stop at noon; its morning runs 3 sd above the day
  const judged: number[] = [];
  for (let t = START; t < START + 9 * 7 * DAY_SEC; t += EVERY) {
    const day = Math.floor((t - START) / DAY_SEC);
    if (day === cut && t % DAY_SEC >= DAY_SEC / 2) continue;
    const j = addToDay(s, 0, reading(t, rng), t);
    if (!j) continue;
    judged.push(day - 1);
    assert.ok(j.calibrated < Z_DEFAULT, `day ${day - 1}: ${j.z.toFixed(1)} sd`);
  }
  assert.ok(!judged.includes(cut), "the half day is not judged");
  assert.ok(judged.includes(cut - 1) && judged.includes(cut + 1), "its neighbours are");
});

Deno.test("a day read unevenly is averaged over its hours, not its readings", () => {
  // Six weeks read every 5 minutes, then two weeks read every minute while the daily cycle is up
  // and every 15 minutes while it is down (a sensor that reports more when things move): a mean
  // of the readings would put those days 2.8 sd of the cycle up and alert on every one of them.
  const rng = createRandom(12, 6);
  const b = createBaselines(1);
  const out = createJudgement(1);
  const uneven = 6 * 7, outage = uneven + 8; // a Friday
  const dayAlerts: number[] = [];
  let outageMean = NaN;
  for (let t = START; t < START + 8 * 7 * DAY_SEC;) {
    const day = Math.floor((t - START) / DAY_SEC);
    const up = Math.sin(2 * Math.PI * (t % DAY_SEC) / DAY_SEC) > 0;
    const v = reading(t, rng);
    b.judgeLearn("sensor-3", [day === outage ? v / 4 : v], t, out);
    if (BASES[out.basis[0]] === "day" && out.calibrated[0] >= Z_DEFAULT) {
      dayAlerts.push(day - 1);
      if (day - 1 === outage) outageMean = out.actual[0];
    }
    t += day < uneven ? EVERY : up ? 60 : 900;
  }
  assert.deepEqual(dayAlerts, [outage], "only the day at a quarter of its values alerts");
  assert.ok(Math.abs(outageMean - 5) < 0.3, `its mean ${outageMean}, the cycle's 20 / 4`);
});
