import assert from "node:assert/strict";
import {
  bestThreshold,
  corpusScore,
  prepareFile,
  PROFILES,
  scaledSigmoid,
  scoreFile,
} from "../../bench/nab_score.ts";

/** 100 rows, one a minute; a window over rows 60..69. */
const ts = Array.from(
  { length: 100 },
  (_, i) => new Date(Date.UTC(2020, 0, 1, 0, i)).toISOString().slice(0, 19).replace("T", " "),
);
const file = prepareFile("f", ts, [[ts[60], ts[69]]]);
const detect = (...rows: number[]) => Array.from({ length: 100 }, (_, i) => rows.includes(i));

Deno.test("NAB: probation, window rows and their sigmoid weights", () => {
  assert.equal(file.scored.slice(0, 15).every((s) => s === 0), true, "15 % probationary");
  assert.equal(file.scored[15], 1);
  assert.equal(file.window[59], -1);
  assert.equal(file.window[60], 0);
  assert.equal(file.window[69], 0);
  assert.ok(Math.abs(file.weight[60] - scaledSigmoid(-1)) < 1e-12, "the window's start");
  assert.ok(file.weight[69] > 0 && file.weight[69] < file.weight[60], "later in it earns less");
  assert.equal(file.weight[30], -1, "before any window: the full FP cost");
  assert.ok(file.weight[70] > -0.3 && file.weight[70] < 0, "just after the window: a small cost");
  assert.equal(scaledSigmoid(3.5), -1);
});

Deno.test("NAB: a detection at the window's start is perfect, nothing is null, a miss costs the FN weight", () => {
  const p = PROFILES.standard;
  assert.equal(corpusScore([file], [detect(60)], p), 100);
  assert.equal(corpusScore([file], [detect()], p), 0);
  // Only the earliest detection of a window counts.
  assert.equal(corpusScore([file], [detect(60, 61, 65)], p), 100);
  const late = corpusScore([file], [detect(68)], p);
  assert.ok(late > 0 && late < 100, `${late}`);
  // A false positive far from the window costs fpWeight; in probation nothing counts.
  const s = scoreFile(file, detect(60, 30), p);
  assert.ok(Math.abs(s.raw - (scaledSigmoid(-1) - 0.11)) < 1e-12);
  assert.equal(corpusScore([file], [detect(60, 5)], p), 100, "row 5 is probationary");
  const lowFn = scoreFile(file, detect(), PROFILES.reward_low_FN_rate);
  assert.equal(lowFn.raw, -2);
});

Deno.test("NAB: the best threshold is found exactly over every distinct score", () => {
  const scores = Array.from({ length: 100 }, (_, i) => (i === 62 ? 0.9 : i === 30 ? 0.95 : 0.1));
  const best = bestThreshold([file], [scores], PROFILES.standard);
  // At 0.95 only the false positive detects; at 0.9 both (window caught at row 62).
  const both = corpusScore([file], [scores.map((s) => s >= 0.9)], PROFILES.standard);
  assert.equal(best.threshold, 0.9);
  assert.ok(Math.abs(best.score - both) < 1e-9);
});
