/**
 * The day's mean against the same weekday's: a slow judgement of each entity and feature, beside
 * the per-event ones of `baseline.ts`.
 *
 * The values of an entity are averaged over each UTC day of event time, each weighed by the time
 * it stands for (since the entity's previous event, up to {@link DAY_SPAN_MAX} or twice its usual
 * gap): a day read unevenly — densely in its morning and sparsely in its afternoon, or with
 * readings lost at random — is averaged over its hours, not over its readings. When an event opens
 * a new day, the day before is judged: its mean against a forecast of day means — a level (weight
 * {@link DAY_LEVEL_WEIGHT}, about 50 days) plus that weekday's offset from it (weight
 * {@link DAY_WEEKDAY_WEIGHT} per visit, about its last 3 weeks) — in the spread of earlier days'
 * forecast errors. A day's mean averages the day's cycle and the events' noise away, so what is
 * left is how the day as a whole went: a holiday's traffic, a day-long slump, a level that has
 * crept for a day. The per-event judgements miss such a day: their level follows any excursion
 * within about 50 events.
 *
 * A weekday's first visit sets its offset from the level and leaves the level alone (so the level
 * does not take the weekly cycle in); its next visits refine the offset, as the mean of their
 * deviations at first. The spread learns only from a weekday's third visit on: before, a day's
 * error is mostly the weekly cycle being learned, not noise. A day is judged once its weekday has
 * been seen twice and the spread has {@link DAY_MIN_ERRORS} errors behind it (from about the
 * fourth week), on the tail of a Student's t of as many degrees of freedom as the spread has
 * errors (at most those of its weight). Errors beyond {@link DAY_CLIP} sd are learned as that
 * many, so an anomalous day does not widen the spread. A day whose values stand for less than
 * {@link DAY_COMPLETE} of the time a full day's did (a sensor that stopped at noon, a gap in the
 * data) is neither judged nor learned: the day's cycle would bias its mean (unit test: a Thursday
 * cut at noon, whose morning runs 3 sd above the day, scored 46 sd without this).
 *
 * Gaussian readings every 5 minutes, with a daily cycle and weekends 2 sd apart, 200 sensors over
 * 200 days: judged days alert at 0.83 / 0.81 / 1.69 × a target of 1e-2 / 1e-3 / 1e-4 (the last
 * from 6 alerts).
 *
 * State: {@link DAY_SLOTS} numbers per entity and feature (`Float64Array`); pure functions.
 *
 * @module
 */
import { nullDegrees, studentScale } from "../tails.ts";

/** Seconds of the period averaged: a UTC day. */
export const DAY_SEC = 86_400;
/** Weight of a day in the level of day means (about 50 days). */
export const DAY_LEVEL_WEIGHT = 0.02;
/** Weight of a visit in its weekday's offset (about its last 3 visits). */
export const DAY_WEEKDAY_WEIGHT = 0.35;
/** Errors the spread needs before a day is judged. */
export const DAY_MIN_ERRORS = 7;
/** Errors beyond this many sd are learned as this many. */
export const DAY_CLIP = 6;
/**
 * Share of a full day's time a day's values must stand for to be judged and learned; a full day
 * is the most time an entity's values have stood for in a day, fading by {@link DAY_FULL_FADE} a
 * day (so a lasting gap each day is the new full within about two weeks).
 */
export const DAY_COMPLETE = 0.9;
/** Fade per day of the time of a full day. */
export const DAY_FULL_FADE = 0.95;
/**
 * The most seconds one value stands for in its day's mean, unless twice its entity's usual gap is
 * longer: a longer wait for a reading is a gap, not time the reading held.
 */
export const DAY_SPAN_MAX = 3_600;
/** Extreme days in a row, on one side, after which the level moves to them. */
export const DAY_RELEVEL_RUN = 3;

// Layout: the day under way, its values' sum weighed by the time each stands for, and that time;
// the level, the spread (variance of the errors), the errors it has learned, the days seen; the
// run of extreme days on one side and the sum of their errors; the time of a full day (a fading
// maximum); per weekday (Thursday 1970-01-01 = 0) its offset (NaN unseen) and its visits.
const DAY = 0, SUM = 1, TIME = 2, LEVEL = 3, SPREAD = 4, ERRORS = 5, DAYS = 6, RUN = 7;
const RUN_SUM = 8, FULL = 9, OFFSETS = 10;
const VISITS = OFFSETS + 7;
/**
 * A weekday's visits before its days' errors teach the spread (from its third visit on: its
 * offset is then the mean of two visits' deviations).
 */
const SPREAD_FROM_VISIT = 2;
/** Numbers per entity and feature. */
export const DAY_SLOTS = VISITS + 7;

/** Writes a fresh state (no day yet) at `s[at …]`. */
export function startDays(s: Float64Array, at: number): void {
  s.fill(0, at, at + DAY_SLOTS);
  s[at + DAY] = NaN;
  s.fill(NaN, at + OFFSETS, at + VISITS);
}

/** The judgement of a finished day. */
export interface DayJudgement {
  /** The day's mean. */
  mean: number;
  /** Its forecast: the level plus its weekday's offset. */
  typical: number;
  /** `(mean − typical) / spread`. */
  z: number;
  /** The Gaussian equivalent of `|z|` on the t tail of the spread's degrees of freedom. */
  calibrated: number;
}

/** The most degrees of freedom of the spread: those of its weight. */
const MAX_DEGREES = Math.round(nullDegrees(DAY_LEVEL_WEIGHT));

/**
 * Adds value `v` at event time `ts` (Unix seconds), standing for `span` seconds of its day (1 by
 * default), to the state at `s[at …]`. When `ts` opens a
 * new day, first judges and learns the day before; returns that judgement when it is judged (see
 * the module doc), else undefined. A `ts` in an earlier day than the one under way is counted in
 * the day under way (late events do not reopen a judged day).
 */
export function addToDay(
  s: Float64Array,
  at: number,
  v: number,
  ts: number,
  span = 1,
): DayJudgement | undefined {
  if (!Number.isFinite(v) || !Number.isFinite(ts)) return undefined;
  const day = Math.floor(ts / DAY_SEC);
  const current = s[at + DAY];
  let judged: DayJudgement | undefined;
  if (Number.isNaN(current)) s[at + DAY] = day;
  else if (day > current) {
    const time = s[at + TIME], full = Math.max(s[at + FULL] * DAY_FULL_FADE, time);
    s[at + FULL] = full;
    // A day whose values stand for far less time than a full one's (a sensor that stopped at
    // noon, a gap) has a mean the day's cycle biases: neither judged nor learned.
    if (time > 0 && time >= DAY_COMPLETE * full) {
      judged = closeDay(s, at, s[at + SUM] / time, current);
    }
    s[at + DAY] = day;
    s[at + SUM] = 0;
    s[at + TIME] = 0;
  }
  s[at + SUM] += span * v;
  s[at + TIME] += span;
  return judged;
}

/** Judges then learns day `day`'s mean `mean`. */
function closeDay(
  s: Float64Array,
  at: number,
  mean: number,
  day: number,
): DayJudgement | undefined {
  const weekday = ((day % 7) + 7) % 7;
  const o = at + OFFSETS + weekday, seen = s[at + VISITS + weekday];
  const days = s[at + DAYS];
  s[at + VISITS + weekday] = seen + 1;
  s[at + DAYS] = days + 1;
  if (days === 0) {
    s[at + LEVEL] = mean;
    s[o] = 0;
    return undefined;
  }
  const level = s[at + LEVEL];
  if (Number.isNaN(s[o])) {
    // A weekday's first visit sets its offset and leaves the level alone: the level is what the
    // weekdays share, and moving it by one weekday's value would take the weekly cycle in.
    s[o] = mean - level;
    return undefined;
  }
  const offset = s[o], typical = level + offset, error = mean - typical;
  const spread = s[at + SPREAD], errors = s[at + ERRORS], sd = Math.sqrt(spread);
  const warm = errors >= DAY_MIN_ERRORS && spread > 0;
  let judged: DayJudgement | undefined;
  if (seen >= 2 && warm) {
    const z = error / sd;
    judged = { mean, typical, z, calibrated: studentScale(Math.min(errors, MAX_DEGREES))(z) };
  }
  // Once warm, an error beyond DAY_CLIP sd is learned as DAY_CLIP sd: a holiday does not teach
  // its weekday to expect another (its offset would carry a third of it to the next week).
  const extreme = warm && Math.abs(error) > DAY_CLIP * sd;
  const learned = extreme ? Math.sign(error) * DAY_CLIP * sd : error;
  if (seen >= SPREAD_FROM_VISIT) {
    // The weekday's offset is known: its error is the day's own, not the weekly cycle.
    const w = Math.max(DAY_LEVEL_WEIGHT, 1 / (errors + 1));
    s[at + SPREAD] = spread + w * (learned * learned - spread);
    s[at + ERRORS] = errors + 1;
  }
  // A lasting change: the third extreme day in a row on the same side moves the level by the
  // mean error of the three, so it alerts for three days, then is the new normal.
  const run = extreme && Math.sign(error) === Math.sign(s[at + RUN_SUM]) ? s[at + RUN] + 1 : 0;
  s[at + RUN] = extreme ? Math.max(run, 1) : 0;
  s[at + RUN_SUM] = extreme ? (run > 0 ? s[at + RUN_SUM] : 0) + error : 0;
  let next = level + Math.max(DAY_LEVEL_WEIGHT, 1 / (days + 1)) * learned;
  // What is left of the day's error once the level has moved: the offset's to learn.
  let rest = learned - (next - level);
  if (s[at + RUN] >= DAY_RELEVEL_RUN) {
    next = level + s[at + RUN_SUM] / s[at + RUN];
    rest = error - (next - level);
    s[at + RUN] = 0;
    s[at + RUN_SUM] = 0;
  }
  s[at + LEVEL] = next;
  s[o] = offset + Math.max(DAY_WEEKDAY_WEIGHT, 1 / (seen + 1)) * rest;
  return judged;
}
