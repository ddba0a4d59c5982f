/**
 * The hourly profile of an entity's forecast (Holt–Winters): with `daily` 24 offsets from the
 * level, one per UTC hour of the event time, each learned with weight 0.05; with `weekly` 168, one
 * per hour of the week, each learned with weight 0.35 (the same weight per day of history).
 * An hour not yet seen is forecast from its neighbours ({@link hourOffset}), and its first value
 * moves that offset by its error shrunk by the noise ({@link firstVisitStep}).
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
 * Weight of an hour's update: 0.05 for an hour of the day; an hour of the week is visited 7 times
 * less often, so it learns 7 times faster (the same weight per day of history).
 */
export const SEASON_WEIGHT: Record<Season, number> = { daily: 0.05, weekly: 0.35, none: 0 };

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
 * How far an hour's first visit moves its offset from the previous hour's, after the error `e` of
 * one value against a noise of `variance`: `e` shrunk by `variance / e²` (positive-part
 * James–Stein), so an error within the noise moves it not at all and one far beyond nearly all
 * the way (a steep daily shape is followed at once).
 */
export function firstVisitStep(e: number, variance: number): number {
  const e2 = e * e;
  return e2 > variance ? e - variance / e : 0;
}
