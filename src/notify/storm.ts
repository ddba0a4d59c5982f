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
  /**
   * Sensors remembered: those still in their cooldown, or with suppressed alerts to report. A
   * sensor whose cooldown is over with nothing suppressed is forgotten (at most one cooldown
   * later), as its next alert is notified either way: the memory follows the sensors alerting
   * now, not every sensor that ever alerted.
   */
  readonly size: number;
}

/** A storm control with `cooldownSec` per sensor (0: notify everything). */
export function createStormControl(cooldownSec: number): StormControl {
  if (!(cooldownSec >= 0) || !Number.isFinite(cooldownSec)) {
    throw new RangeError(`cooldownSec must be a finite number >= 0, got ${cooldownSec}`);
  }
  const sensors = new Map<string, { lastSent: number; suppressed: number }>();
  let lastSweep = -Infinity;
  return {
    get size() {
      return sensors.size;
    },
    admit(sensorId, nowSec) {
      // Once a cooldown: forget the sensors that would be notified afresh anyway.
      if (nowSec - lastSweep >= cooldownSec) {
        for (const [id, s] of sensors) {
          if (s.suppressed === 0 && nowSec - s.lastSent >= cooldownSec) sensors.delete(id);
        }
        lastSweep = nowSec;
      }
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
