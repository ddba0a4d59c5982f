/**
 * Storm control for notifications: at most one notification per sensor per cooldown. What a
 * cooldown suppressed is counted and handed to the next notification of that sensor, so a burst
 * of 10,000 alerts becomes a handful of messages that say how many they stand for.
 *
 * @module
 */

/** The decision for one alert. */
export type StormDecision =
  | {
    notify: true; /** Alerts of this sensor suppressed since its last notification. */
    suppressed: number;
  }
  | { notify: false };

/** Per-sensor cooldown. */
export interface StormControl {
  /** Decides whether the alert of `sensorId` at `nowSec` is notified, and records it. */
  admit(sensorId: string, nowSec: number): StormDecision;
}

/** A storm control with `cooldownSec` per sensor (0: notify everything). */
export function createStormControl(cooldownSec: number): StormControl {
  if (!(cooldownSec >= 0) || !Number.isFinite(cooldownSec)) {
    throw new RangeError(`cooldownSec must be a finite number >= 0, got ${cooldownSec}`);
  }
  const sensors = new Map<string, { lastSent: number; suppressed: number }>();
  return {
    admit(sensorId, nowSec) {
      const s = sensors.get(sensorId);
      if (s === undefined) {
        sensors.set(sensorId, { lastSent: nowSec, suppressed: 0 });
        return { notify: true, suppressed: 0 };
      }
      if (nowSec - s.lastSent < cooldownSec) {
        s.suppressed++;
        return { notify: false };
      }
      const suppressed = s.suppressed;
      s.lastSent = nowSec;
      s.suppressed = 0;
      return { notify: true, suppressed };
    },
  };
}
