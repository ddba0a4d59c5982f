/**
 * The hourly profile of an entity's forecast (Holt–Winters): with `daily` 24 offsets from the
 * level, one per hour of the event time (UTC, or the local time the caller passes: `zone.ts`),
 * each learned with weight 0.05 an event; with `weekly` 168, one per hour of the week, each
 * learned with weight 0.35 a visit ({@link seasonWeight}).
 * An hour not yet seen is forecast from its neighbours ({@link hourOffset}), and its first value
 * moves that offset by its error shrunk by the noise ({@link firstVisitStep}); after that, an hour
 * of the day learns each warm reading's error clipped at 3 sd ({@link offsetError}).
 *
 * Each offset is its hour's mean. Read as a step, it suits a shape that jumps at an hour's turn
 * (a machine switched on at 9:00); a shape that climbs within hours (traffic from 7:00 to 9:00) is
 * better read between the hours ({@link betweenHours}), where a step alerted at the
 * first reading of such an hour day after day. Each entity keeps the running difference of the
 * two readings' squared errors ({@link learnProfileChoice}) and is forecast by the one that has
 * fitted it better lately ({@link profileChoice}); the offsets learn as steps either way.
 *
 * The offsets live in the caller's `Float64Array` (NaN = an hour not seen yet); pure functions.
 *
 * @module
 */

/** Values of {@link BaselineOptions.season}. */
export const SEASONS = ["daily", "weekly", "none"] as const;
/** One of {@link SEASONS}. */
export type Season = typeof SEASONS[number];

/** Hourly offsets kept per season. */
export const HOURS: Record<Season, number> = { daily: 24, weekly: 168, none: 0 };
/**
 * Weight of an hour's update: 0.05 an event for an hour of the day; an hour of the week is visited
 * 7 times less often, so it learns 7 times faster, 0.35 a visit ({@link seasonWeight}).
 */
export const SEASON_WEIGHT: Record<Season, number> = { daily: 0.05, weekly: 0.35, none: 0 };

/**
 * The weight of one event in its hour's offset, for an entity read `rate` times an hour (0 or
 * less: unknown). An hour of the day learns {@link SEASON_WEIGHT} an event. An hour of the week
 * learns it a visit, however many events the visit holds, so that its offset is the hour's mean:
 * at 0.35 an event, a reading every 5 minutes left it at the hour's last few readings, and a
 * morning climb from 7:00 to 9:00 was forecast at 7:00 at its 8:00 value (154 alerts in 15 weeks;
 * 2–4 now).
 */
export function seasonWeight(season: Season, rate: number): number {
  const w = SEASON_WEIGHT[season];
  return season === "weekly" && rate > 1 ? 1 - Math.pow(1 - w, 1 / rate) : w;
}

/**
 * The most of an error an hour's offset learns from one warm reading, in sd of the noise the
 * hour's visit began in ({@link offsetError}).
 */
export const OFFSET_CLIP_SD = 3;

/**
 * Error `e` of a reading as its hour's offset learns it: clipped at {@link OFFSET_CLIP_SD} sd of
 * the noise `variance` its hour's visit began in, so each offset is Huber's M-estimate of its
 * hour's mean (under Gaussian noise as efficient as the plain mean to 0.04 %, and at 3 sd seldom
 * binding on a shape the hour keeps). Taken whole, a stretch of anomalies late in an hour (memory
 * 16 sd up for 20 minutes, a feed stuck at 0) became that hour's shape and, the next day, its
 * first readings were forecast at the anomaly's level and alerted.
 */
export function offsetError(e: number, variance: number): number {
  // Most errors lie inside: the square root only for those beyond.
  if (!(e * e > OFFSET_CLIP_SD * OFFSET_CLIP_SD * variance)) return e;
  const c = OFFSET_CLIP_SD * Math.sqrt(variance);
  return e > 0 ? c : -c;
}

/**
 * The offset of `hour` in the offsets at `s[at …]`; before the hour's first visit, with a weekly
 * profile the same hour of the day before, else the previous hour's (0 when none is known): a
 * day's shape is smooth and mostly repeats.
 */
export function hourOffset(s: Float64Array, at: number, hour: number, hours: number): number {
  const own = s[at + hour];
  if (!Number.isNaN(own)) return own;
  if (hours > 24) {
    const dayBefore = s[at + (hour + hours - 24) % hours];
    if (!Number.isNaN(dayBefore)) return dayBefore;
  }
  const previous = s[at + (hour + hours - 1) % hours];
  return Number.isNaN(previous) ? 0 : previous;
}

/**
 * The profile read between hours: each hour's offset is its events' mean, placed at `center`, the
 * mean time of its events through the hour (0 at its start, 1 at the next one's: about 0.46 for a
 * reading every 5 minutes, 0 for one on the hour); at a time `u` through `hour`, `step` (the
 * hour's own offset, {@link hourOffset}) is interpolated linearly towards the offset of the hour on
 * the nearer side. `step` itself while either is not known yet, and for readings always at the
 * same time of the hour.
 */
export function betweenHours(
  s: Float64Array,
  at: number,
  hour: number,
  u: number,
  center: number,
  hours: number,
  step: number,
): number {
  const near = s[at + (u < center ? hour + hours - 1 : hour + 1) % hours];
  if (Number.isNaN(near) || Number.isNaN(s[at + hour])) return step;
  const w = Math.abs(u - center);
  return (1 - w) * step + w * near;
}

/**
 * Weight of an event in the running means that place the hours' offsets and choose how an
 * entity's profile is read (about its last 100 events).
 */
export const PROFILE_CHOICE_WEIGHT = 0.01;

/**
 * Whether the profile whose choice starts at `s[at]` is read between hours ({@link betweenHours}):
 * when that has fitted the entity's recent values better than steps.
 */
export function profileChoice(s: Float64Array, at: number): boolean {
  return s[at] > 0;
}

/**
 * Learns an event `u` of the way through its hour into the center at `s[at + 1]` (the plain mean of
 * the entity's first `1 / PROFILE_CHOICE_WEIGHT` events, `n` before this one), and into the
 * choice at `s[at]` the squared errors in sd of its value forecast with the profile read as a step
 * (`stepError`) and between hours (`betweenError`) in a noise of `variance`: each capped at 36
 * (6 sd, as the noise's winsorising), and not at all when neither is within 3 sd, so that neither
 * an anomaly nor the catching up after a lasting step decides it.
 */
export function learnProfileChoice(
  s: Float64Array,
  at: number,
  n: number,
  u: number,
  stepError: number,
  betweenError: number,
  variance: number,
): void {
  s[at + 1] += Math.max(PROFILE_CHOICE_WEIGHT, 1 / (n + 1)) * (u - s[at + 1]);
  const a = stepError * stepError / variance, b = betweenError * betweenError / variance;
  if (!(Math.min(a, b) <= 9)) return;
  s[at] += PROFILE_CHOICE_WEIGHT * (Math.min(36, a) - Math.min(36, b) - s[at]);
}

/**
 * How far an hour's first visit moves its offset from the previous hour's, after the error `e` of
 * one value against a noise of `variance`: `e` shrunk by `variance / e²` (positive-part
 * James–Stein), so an error within the noise moves it not at all and one far beyond nearly all
 * the way (a steep daily shape is followed at once).
 */
export function firstVisitStep(e: number, variance: number): number {
  const e2 = e * e;
  return e2 > variance ? e - variance / e : 0;
}

/**
 * Whether every one of the `hours` offsets at `s[at …]` has been learned (each hour has had its
 * first visit); true for no hours (no profile).
 */
export function everyHourVisited(s: Float64Array, at: number, hours: number): boolean {
  for (let k = 0; k < hours; k++) if (Number.isNaN(s[at + k])) return false;
  return true;
}
