import assert from "node:assert/strict";
import fc from "fast-check";
import { BASES, createBaselines, createJudgement, deviationForRate } from "../../src/baseline.ts";
import {
  judgeRecord,
  RECORD_DAY_EVENTS,
  RECORD_EVENTS,
  RECORD_GENERATION_DAYS,
  RECORD_SLOTS,
  recordEdge,
  startRecords,
} from "../../src/baseline/record.ts";
import { createRandom } from "../../src/random.ts";

const DAY = 86_400;

/** Fresh record slots. */
function records(): Float64Array {
  const s = new Float64Array(RECORD_SLOTS);
  startRecords(s, 0);
  return s;
}

/** Days of history before records are judged: a full generation, and the day that closes it. */
const HISTORY_DAYS = RECORD_GENERATION_DAYS + 1;

/** Writes `days` days of readings a minute from `draw` into `s`; returns the next day's start. */
function fillHistory(s: Float64Array, days: number, draw: () => number): number {
  for (let i = 0; i < days * 1440; i++) judgeRecord(s, 0, draw(), i * 60);
  return days * DAY;
}

Deno.test("a wandering reading that slides where it has never been is caught as a record, though its forecast follows it", () => {
  // A reading that wanders (AR(1), about 5 sd of its step noise) read every 5 minutes for 20 days,
  // then sliding down by one step noise a reading. Its forecast slides with it: without records
  // none of 20 such slides was flagged within 5 hours.
  const zStar = deviationForRate(5e-6);
  const perDay = 288, days = 20;
  const caught: number[] = [];
  for (let seed = 1; seed <= 20; seed++) {
    const rng = createRandom(seed, 1);
    const b = createBaselines(1);
    const out = createJudgement(1);
    let r = 0, least = Infinity;
    for (let i = 0; i < days * perDay + 60; i++) {
      r = 0.98 * r + rng.normal();
      const v = 100 + r - (i >= days * perDay ? i - days * perDay : 0);
      b.judgeLearn("m", [v], i * 300, out);
      if (i >= days * perDay && out.calibrated[0] >= zStar) {
        assert.equal(BASES[out.basis[0]], "record", `seed ${seed}: decided by the record`);
        // Its typical value is the record it passed: the least of the days before.
        assert.equal(out.typical[0], least);
        assert.ok(out.z[0] < 0, "a record below");
        caught.push(i - days * perDay);
        break;
      }
      if (i < days * perDay) least = Math.min(least, v);
    }
  }
  assert.ok(caught.length >= 15, `${caught.length} of 20 slides caught: ${caught}`);
});

Deno.test("a record is judged against the days before, not against its own day", () => {
  const s = records(), rng = createRandom(2, 1);
  // Two weeks of readings within ±5 of 0, a reading a minute.
  const t0 = fillHistory(s, HISTORY_DAYS, () => Math.max(-5, Math.min(5, rng.normal())));
  assert.ok(recordEdge(s, 0, true) <= 5 && recordEdge(s, 0, false) >= -5);
  // On the next day a slide to −30, a step of −1 a reading: judged below, ever rarer.
  const slide = Array.from({ length: 30 }, (_, k) => judgeRecord(s, 0, -1 - k, t0 + k * 60));
  assert.ok(slide.every((z) => z <= 0), `${slide}`);
  assert.ok(Math.min(...slide) < -deviationForRate(5e-6), `the slide is rare: ${slide}`);
  // The slide is not yet part of the history; the next day it is.
  assert.ok(recordEdge(s, 0, false) >= -5);
  judgeRecord(s, 0, 0, t0 + DAY);
  assert.equal(recordEdge(s, 0, false), -30);
});

Deno.test("a reading that stepped beyond its history and stays is judged once that day, then again only when rarer by a sd", () => {
  const s = records(), rng = createRandom(3, 1);
  const t0 = fillHistory(s, HISTORY_DAYS, () => rng.normal());
  const judged: number[] = [];
  let last = 0;
  for (let k = 0; k < 1000; k++) {
    const z = judgeRecord(s, 0, 30 + rng.normal(), t0 + k * 60);
    if (z > 0) {
      assert.ok(last === 0 || z >= last + 1, `a later record is rarer by a sd: ${last} → ${z}`);
      judged.push(k);
      last = z;
    }
  }
  assert.equal(judged[0], 0, "its first reading is judged");
  assert.ok(judged.length <= 2, `judged at ${judged}`);
});

Deno.test("records need a history, cannot be read from tied extremes, and forget after four weeks", () => {
  const s = records();
  // Without event time RECORD_DAY_EVENTS events stand for a day; none is judged before a first
  // generation of the history (RECORD_GENERATION_DAYS days and RECORD_EVENTS events) is closed.
  for (let i = 0; i < HISTORY_DAYS * RECORD_DAY_EVENTS; i++) {
    assert.equal(judgeRecord(s, 0, i < RECORD_DAY_EVENTS ? 0 : i % 2, NaN), 0);
  }
  assert.ok(RECORD_EVENTS <= RECORD_DAY_EVENTS);
  // The history's extremes tie at 0 and 1 (a saturated or coarse reading): no tail to read.
  assert.equal(judgeRecord(s, 0, 5, NaN), 0);
  assert.equal(judgeRecord(s, 0, -5, NaN), 0);

  // A low of −50 on day 0, then readings within ±3: it is the record for two weeks at least, and
  // gone within four.
  const t = createRandom(4, 1), w = new Float64Array(RECORD_SLOTS);
  startRecords(w, 0);
  judgeRecord(w, 0, -50, 0);
  const lows: number[] = [];
  for (let day = 0; day < 30; day++) {
    for (let k = 1; k < 288; k++) {
      judgeRecord(w, 0, Math.max(-3, Math.min(3, t.normal())), day * DAY + k * 300);
    }
    lows.push(recordEdge(w, 0, false));
  }
  assert.equal(lows[13], -50);
  assert.ok(lows[29] >= -3, `${lows}`);
});

Deno.test("a record's deviation is signed by its side, 0 inside the history, and larger the further beyond", () => {
  const s = records(), rng = createRandom(6, 1);
  const start = fillHistory(s, HISTORY_DAYS, () => rng.normal()) / DAY;
  const hi = recordEdge(s, 0, true), lo = recordEdge(s, 0, false);
  fc.assert(fc.property(fc.double({ min: 0.01, max: 100, noNaN: true }), (beyond) => {
    // Each on a new day, so no earlier record of the day holds it back.
    const day = start + Math.floor(beyond * 1e3);
    const copy = s.slice();
    const up = judgeRecord(copy, 0, hi + beyond, day * DAY);
    const further = judgeRecord(s.slice(), 0, hi + 2 * beyond, day * DAY);
    const down = judgeRecord(s.slice(), 0, lo - beyond, day * DAY);
    assert.ok(up >= 0 && down <= 0, `${up} ${down}`);
    assert.ok(further >= up, `${beyond}: ${further} < ${up}`);
    assert.equal(judgeRecord(s.slice(), 0, (hi + lo) / 2, day * DAY), 0);
  }));
});

Deno.test("a late event counts in the current day: it neither moves the day back nor lets the day's values into the history", () => {
  const s = records(), rng = createRandom(7, 1);
  const t0 = fillHistory(s, HISTORY_DAYS, () => rng.normal());
  // A slide below every value before, with a late event of the day before among its readings.
  for (let k = 0; k < 10; k++) judgeRecord(s, 0, -10 - k, t0 + k * 60);
  judgeRecord(s, 0, 0, t0 - 60);
  assert.ok(recordEdge(s, 0, false) > -10, "the day's slide is not yet history");
  // Far enough beyond the slide's last judged record (−19) to be judged again (RECORD_ESCALATION).
  assert.ok(judgeRecord(s, 0, -60, t0 + 700) < 0, "the slide still judged against the days before");
});

Deno.test("a quantity that grows sets no records on the side it grows to; a fall below its history still is one", () => {
  // Disk usage growing 1 % a day with noise of 0.05 %, read every 5 minutes for 60 days: each day
  // passes every value before it. Judged on the side it grows to, it alerted about once a day.
  const s = records(), rng = createRandom(8, 1);
  const at = (day: number) => 1000 * (1 + 0.01 * day) * (1 + 0.0005 * rng.normal());
  const judged: number[] = [];
  for (let i = 0; i < 60 * 288; i++) {
    const z = judgeRecord(s, 0, at(i / 288), i * 300);
    if (z !== 0) judged.push(i);
  }
  assert.deepEqual(judged, []);
  // A fall to below its level of the first days: the side it moves away from is judged.
  assert.ok(judgeRecord(s, 0, 900, 60 * DAY) < -deviationForRate(5e-6));
});
