/**
 * The spread by hour of day: some hours of an entity are routinely harder to forecast than the
 * rest of its day — a nightly batch job whose start wanders by minutes, business hours on weekdays
 * only (their first hour, and Saturday's, miss the daily profile by the whole bump), a square wave's
 * turns, counts that are busier (and noisier) by day. Judged in the entity's one noise, those hours
 * alerted every day.
 *
 * Each hour of the day keeps the running mean of its events' squared forecast errors in the
 * noise the hour began in ({@link hourNoise}: a routine burst widens the entity's noise as it
 * comes, so measured in the noise of the moment it hid itself), each capped at
 * {@link HOUR_SPREAD_CAP}, as the noise winsorises, learned with
 * weight {@link HOUR_SPREAD_DAY_WEIGHT} a day whatever the reading rate, from 1 (the entity's own
 * noise). An hour whose mean, or the nearer neighbouring hour's, has reached
 * {@link HOUR_SPREAD_FROM} judges its deviations in the noise widened by the larger
 * ({@link hourWidening}); the noise is never narrowed (an hour quieter than the rest keeps the
 * entity's noise, so Gaussian readings stay at their target). Its slots are an entity's state
 * as the level's are: an excursion's end puts back the spreads from before it.
 *
 * State: {@link HOUR_SPREAD_SLOTS} numbers in the caller's `Float64Array`; pure functions.
 *
 * @module
 */
import { CLIP } from "./noise.ts";

/**
 * Numbers kept per feature: one per hour of the day, then the hour of event time (Unix hours) the
 * entity's current visit began in and the noise's variance at its first event ({@link hourNoise}).
 */
export const HOUR_SPREAD_SLOTS = 26;
/** Slots of the current visit's hour and the variance at its first event, after the 24 means. */
const VISIT = 24;
/**
 * Weight of a day's events in an hour's mean (about its last 10 days): a one-off incident of an
 * hour widens that hour for days, a routine one keeps it wide.
 */
export const HOUR_SPREAD_DAY_WEIGHT = 0.1;
/**
 * The least mean squared error (in the entity's variance) at which an hour's noise is widened: an
 * hour whose errors' sd is 1.7 × the entity's or more. The mean is an estimate: read once an hour,
 * from about 19 events, its sd is 0.32 for Gaussian readings and 0.65 for Student's t with 5
 * degrees of freedom (χ²'s variance 2, the t's squared 8), so heavy-tailed hourly readings pass
 * 1.5 about one hour in five by chance and 3 about one in a thousand. From 1, the estimation noise
 * alone widened hours of Gaussian sensors (the 12 sensors' recall 0.7250 → 0.7208).
 */
export const HOUR_SPREAD_FROM = 3;
/** Cap of a squared error an hour learns ({@link CLIP} sd squared). */
export const HOUR_SPREAD_CAP = CLIP * CLIP;

/** Writes a new entity's spreads at `s[at …]`: every hour at the entity's noise (1), no visit yet. */
export function startHourSpread(s: Float64Array, at: number): void {
  s.fill(1, at, at + VISIT);
  s[at + VISIT] = NaN;
  s[at + VISIT + 1] = NaN;
}

/**
 * The variance an event's squared error is learned in by its hour: the narrower of the entity's
 * noise now (`variance`) and its noise at the first event of the current visit of the hour (the
 * hour of event time `ts`, Unix seconds), which it records at a visit's first event. A nightly
 * job whose start wanders by minutes widens the noise with its first readings, so in the noise of
 * the moment its hours' means stayed at 1.6 and 2.5 and never reached {@link HOUR_SPREAD_FROM};
 * in the noise the hour began in they do.
 */
export function hourNoise(s: Float64Array, at: number, ts: number, variance: number): number {
  const visit = Math.floor(ts / 3600);
  if (s[at + VISIT] !== visit) {
    s[at + VISIT] = visit;
    s[at + VISIT + 1] = variance;
    return variance;
  }
  return Math.min(variance, s[at + VISIT + 1]);
}

/**
 * The factor (≥ 1) the noise's variance is widened by at a time `u` of the way through hour of day
 * `hour` (0–23; 0 at its start): the larger mean of the hour and the nearer neighbouring hour (the
 * one before in its first half, the one after in its second, as the profile is read between
 * hours), when that reaches {@link HOUR_SPREAD_FROM}. A burst whose start wanders by minutes around
 * an hour's turn falls in one hour some days and in the other the rest, so neither hour's mean need
 * reach the bar: read on its own, the hour a nightly job at 2:00 ± 20 minutes starts in on half the
 * nights alerted on most of them. Both neighbours at any time widened that job's hours further
 * (0.20 alerts a week instead of 2.0) but also the hour after a routinely wide one: a day whose
 * morning climb did not come was no longer caught that morning.
 */
export function hourWidening(s: Float64Array, at: number, hour: number, u: number): number {
  const nearer = s[at + (u < 0.5 ? hour + 23 : hour + 1) % 24];
  const mean = Math.max(s[at + hour], nearer);
  return mean >= HOUR_SPREAD_FROM ? mean : 1;
}

/**
 * Learns squared error `z2` (in the entity's variance) of an event at hour of day `hour`, of an
 * entity read `rate` times an hour (under 1 or NaN: taken as once an hour; ∞, events all at one
 * time, learns nothing: a weight per event of 0.1 let the last ten events of a replayed file with
 * one timestamp widen its hour after each anomaly).
 */
export function learnHourSpread(
  s: Float64Array,
  at: number,
  hour: number,
  z2: number,
  rate: number,
): void {
  // A day's visit of `perHour` events weighs about HOUR_SPREAD_DAY_WEIGHT in all.
  const perHour = rate >= 1 ? rate : 1;
  s[at + hour] += (HOUR_SPREAD_DAY_WEIGHT / perHour) *
    (Math.min(z2, HOUR_SPREAD_CAP) - s[at + hour]);
}
