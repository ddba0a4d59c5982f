/**
 * Excursions far beyond an entity's noise that end: a sensor that reports an error code for
 * hours (−999, 65535), a storm of glitches, a feed that sends another unit for a while. The
 * forecast follows a lasting change (it must: a sensor moved to a new level stays there), so
 * during such an excursion the level, the noise and the hours' offsets learn it; when the readings
 * come back, the hours the excursion covered keep its imprint and the level swings against them
 * each day, alerting for days to weeks after (a 3-hour storm of −999 on a sensor of noise 1: 90
 * alerts in the 17 days after).
 *
 * So the entity's state from just before an excursion of {@link EXCURSION_SD} sd or more is kept
 * aside, and when {@link EXCURSION_FITS} readings in a row fit it again (within
 * {@link FIT_SD} of its noise of its forecast for their hour), it is put back: the excursion is
 * forgotten as if it had not happened. An **incident** starts one too: a reading
 * {@link INCIDENT_SD} sd or more from its forecast that jumped there, {@link INCIDENT_JUMP_SD} sd
 * or more from the reading before it (a forecast that is off, an hour's offset dragged by an odd
 * day, is no incident: the reading did not move), once every hour of the entity's profile has
 * had its first visit (a daily shape seen for the first time is learned, not undone) and in an
 * hour not routinely hard to forecast (its spread under the bar). So does a **confirmed run**: a
 * reading {@link CANDIDATE_SD} sd or more from its forecast that jumped there (a candidate, kept
 * for one reading) followed by a reading as far on the same side, the state saved from before the
 * first; two such readings in a row are far rarer under the noise than one at {@link INCIDENT_SD}.
 * An incident's own readings widen the noise for a hundred readings or more after it (a 5-sd shift
 * of 30 readings left a sensor's noise 1.2–1.9 × its own), and the next anomaly was judged in that
 * noise; once the incident has ended it no longer is. An incident that starts one to
 * {@link RECUR_DAYS} whole days after the entity's last one, give or take {@link RECUR_SECONDS}
 * ({@link recursDaily}), is a shape coming back (a machine switched on, business hours on weekdays,
 * a nightly job) and is learned, not undone.
 *
 * While an excursion is under way, a reading that fits the state from before it is on its way
 * back, and the caller judges it against that state: the forecast the excursion dragged, and the
 * change from its last reading, would flag the return to normal as another anomaly.
 *
 * Only an excursion of {@link EXCURSION_AWAY} readings or more is undone (a spike or a short burst
 * is left to the judgements made for them), and only within a day of event time
 * ({@link EXCURSION_SECONDS}) and {@link EXCURSION_MEMORY} events: one that lasts longer is a new
 * normal, learned as any change.
 *
 * Pure functions over a feature's slots (`s[at …]`) and a saved copy of them.
 *
 * @module
 */

import { everyHourVisited } from "./profile.ts";

/** An error of this many sd of the noise before it starts an excursion (none is routine). */
export const EXCURSION_SD = 20;
/**
 * A reading this many sd of the noise from its forecast starts an incident
 * ({@link incidentStarts}), if it jumped there ({@link INCIDENT_JUMP_SD}). Without the jump, 6 sd
 * was the least NAB allowed: at 5 sd `machine_temperature` alerted at 9:00 two days running (an
 * hour's offset dragged by a drop the day before, undone as an incident, so dragged again) and
 * lost its third window at the best threshold (NAB 67.70). With it, 4.5 sd leaves NAB as it was
 * and the 12 sensors catch more (seeds 1–7 over the injections reaching 5 sd 0.9104 → 0.9330,
 * least 0.8824 → 0.9123); at 4 sd NAB 70.22.
 */
export const INCIDENT_SD = 4.5;
/**
 * The change since the entity's previous reading, in sd of the noise and towards the deviation,
 * that an incident's first reading needs ({@link incidentStarts}): as far as a reading that fits
 * may lie ({@link FIT_SD}).
 */
export const INCIDENT_JUMP_SD = 3;
/**
 * A reading this many sd of the noise from its forecast, that jumped there
 * ({@link INCIDENT_JUMP_SD}), is a candidate incident ({@link incidentStarts} at this bar); the
 * next reading confirms it ({@link candidateConfirmed}) when it lies this many sd or more from its
 * own forecast on the same side. A 5-sd shift judged in a noise an earlier injection had widened by
 * 1.2–1.9 × passed 4.5 sd at none of its readings, was learned, and widened the noise the next was
 * judged in (on the 12 sensors at readings every 5 minutes, seeds 1–7 over the injections reaching
 * 5 sd 0.8999 → 0.9170; at one a minute 0.9330 → 0.9387; NAB unchanged). At 3 sd, or with a jump of
 * 2: more of the 12 sensors' shifts, NAB 70.23–70.51.
 */
export const CANDIDATE_SD = 3.5;
/** Seconds either side of an earlier incident's time of day within which a new one recurs. */
export const RECUR_SECONDS = 3600;
/** Days back an earlier incident makes a new one at its time of day recur. */
export const RECUR_DAYS = 7;
/** Readings in a row that must fit the state before the excursion for it to be put back. */
export const EXCURSION_FITS = 3;
/** A reading fits the state before the excursion within this many sd of its noise. */
export const FIT_SD = 3;
/**
 * Readings away from the saved state an excursion needs to be undone: a spike or a short burst is
 * left to the judgements that handle them (a glitch is held back, routine bursts are learned).
 */
export const EXCURSION_AWAY = 10;
/** Events an excursion's saved state is kept for at most. */
export const EXCURSION_MEMORY = 10_000;
/**
 * Seconds of event time an excursion's saved state is kept for at most: one that lasts longer
 * is a new normal, or a pattern of the week that the hours of a day cannot hold (a weekend), and
 * is learned as any change.
 */
export const EXCURSION_SECONDS = 86_400;

/**
 * A reading that may start an incident (a candidate, {@link CANDIDATE_SD}): its feature's state
 * from before it, kept until the feature's next reading, and the side it deviated to (1 above, −1
 * below).
 */
export interface Candidate {
  saved: Excursion;
  side: number;
}

/** A feature's state saved at the start of an excursion. */
export interface Excursion {
  /** The feature's slots as they were before the excursion's first reading. */
  saved: Float64Array;
  /** Readings since the excursion began. */
  age: number;
  /** Readings in a row that fit the saved state. */
  fits: number;
  /** Readings that did not fit it (the excursion's own, the first included). */
  away: number;
  /** Event time of its first reading (NaN: unknown). */
  since: number;
  /** Whether it is an incident that recurs ({@link recursDaily}): learned, never put back. */
  recurs: boolean;
}

/**
 * Whether value `v` starts an excursion: beyond the entity's least and largest values seen
 * (`lo`, `hi`) by their span, and by {@link EXCURSION_SD} sd of its noise `variance`, or more.
 */
export function beyondRange(lo: number, hi: number, v: number, variance: number): boolean {
  const margin = Math.max(hi - lo, EXCURSION_SD * Math.sqrt(variance));
  return v < lo - margin || v > hi + margin;
}

/**
 * Whether a reading `z` sd from its forecast (in the noise its hour is judged in) starts an
 * incident: `bar` sd or more ({@link INCIDENT_SD}; {@link CANDIDATE_SD} for a candidate), `jump` sd
 * (in the same noise) from the reading before it on the same side by {@link INCIDENT_JUMP_SD} or
 * more, in an hour whose errors' spread does not widen it (`widen` 1), once every one of the
 * entity's `hours` offsets at `s[at …]` has been learned (each hour has had its first visit; no
 * hours: no profile). The hours are read only for a reading that passes the rest.
 */
export function incidentStarts(
  z: number,
  jump: number,
  widen: number,
  s: Float64Array,
  at: number,
  hours: number,
  bar = INCIDENT_SD,
): boolean {
  return Math.abs(z) >= bar && jump * Math.sign(z) >= INCIDENT_JUMP_SD && widen <= 1 &&
    everyHourVisited(s, at, hours);
}

/**
 * Saves slots `s[at … at + length)` as the state before candidate incident `z` sd from its
 * forecast at event time `ts`.
 */
export function startCandidate(
  s: Float64Array,
  at: number,
  length: number,
  z: number,
  ts: number,
): Candidate {
  return { saved: startExcursion(s, at, length, ts), side: Math.sign(z) };
}

/**
 * Whether the reading after candidate `c`, `z` sd from its forecast, confirms it: as far on the
 * same side ({@link CANDIDATE_SD}).
 */
export function candidateConfirmed(c: Candidate, z: number): boolean {
  return z * c.side >= CANDIDATE_SD;
}

/**
 * The excursion a confirmed candidate `c` starts, one reading old (the candidate's, away from the
 * state saved before it): `recurs` as {@link startExcursion} takes it.
 */
export function confirmCandidate(c: Candidate, recurs: boolean): Excursion {
  return { ...c.saved, age: 1, away: 2, recurs };
}

/**
 * Whether an incident at event time `ts` recurs: one to {@link RECUR_DAYS} whole days, give or
 * take {@link RECUR_SECONDS}, after the entity's incident before it at `earlier` (NaN: none).
 */
export function recursDaily(earlier: number, ts: number): boolean {
  const gap = ts - earlier, days = Math.round(gap / 86_400);
  return days >= 1 && days <= RECUR_DAYS && Math.abs(gap - days * 86_400) <= RECUR_SECONDS;
}

/**
 * Saves slots `s[at … at + length)` as the state before an excursion that began at `ts`
 * (`recurs`: an incident that recurs, learned and never put back).
 */
export function startExcursion(
  s: Float64Array,
  at: number,
  length: number,
  ts: number,
  recurs = false,
): Excursion {
  return { saved: s.slice(at, at + length), age: 0, fits: 0, away: 1, since: ts, recurs };
}

/** Whether excursion `e`, at event time `ts`, is too old to be undone (a new normal). */
export function excursionExpired(e: Excursion, ts: number): boolean {
  return e.age > EXCURSION_MEMORY || ts - e.since > EXCURSION_SECONDS;
}

/**
 * Whether reading `v` fits the saved state's forecast `forecast` within {@link FIT_SD} of its
 * noise `variance`; counts it in `e`, and returns whether the excursion is over (its last
 * {@link EXCURSION_FITS} readings fit).
 */
export function excursionOver(
  e: Excursion,
  v: number,
  forecast: number,
  variance: number,
): boolean {
  e.age++;
  const fits = Math.abs(v - forecast) <= FIT_SD * Math.sqrt(variance);
  e.fits = fits ? e.fits + 1 : 0;
  if (!fits) e.away++;
  return e.fits >= EXCURSION_FITS;
}

/** Puts the saved slots back into `s[at …]`, except those in `kept` (offsets within the feature). */
export function restoreExcursion(
  s: Float64Array,
  at: number,
  e: Excursion,
  kept: readonly number[],
): void {
  const now = kept.map((k) => s[at + k]);
  s.set(e.saved, at);
  kept.forEach((k, i) => s[at + k] = now[i]);
}
