/**
 * Local time of an IANA time zone, for the hours and days the baselines' profiles and the forest's
 * cycles follow. A traffic or order stream follows its people's clock: judged by UTC hours, its
 * morning climb moves by an hour at each daylight-saving change (a week of false alerts twice a
 * year), and its days and weekends end at UTC midnight.
 *
 * {@link localClock} maps a Unix time (seconds) to the same wall-clock reading as a Unix time, so
 * `Math.floor(local / 3600) % 24` is the local hour. The zone's offset comes from the runtime's
 * time-zone data (`Intl`), computed once per quarter hour of event time (every zone's offsets and
 * changes fall on quarter hours) and remembered for the last one.
 *
 * @module
 */

/** The zone whose clock is Unix time itself. */
export const UTC = "UTC";

/** What a time zone setting allows, for its error messages. */
export const ZONES_ALLOWED =
  "expected an IANA time zone such as Europe/Berlin or America/New_York, or UTC";

/** The zone `zone` names, as the time-zone data names it; `undefined` when it names none. */
export function zoneName(zone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** {@link zoneName}, or a `RangeError` naming `what` and what is allowed. */
export function checkZone(zone: string, what = "time zone"): string {
  const name = zoneName(zone);
  if (name === undefined) {
    throw new RangeError(`${what}: ${ZONES_ALLOWED}, got ${JSON.stringify(zone)}`);
  }
  return name;
}

/**
 * The local clock of `zone` (checked by {@link checkZone}): Unix seconds → the Unix seconds of the
 * same wall-clock reading in UTC. `undefined` for UTC (no mapping needed).
 */
export function localClock(zone: string): ((ts: number) => number) | undefined {
  const name = checkZone(zone);
  if (name === UTC || name === "Etc/UTC") return undefined;
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: name,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
  });
  let quarter = NaN, offset = 0;
  return (ts: number): number => {
    if (!Number.isFinite(ts)) return ts;
    const q = Math.floor(ts / 900);
    if (q !== quarter) {
      quarter = q;
      offset = offsetAt(format, q * 900);
    }
    return ts + offset;
  };
}

/** The zone's offset from UTC, in seconds, at Unix time `ts` (a whole minute). */
function offsetAt(format: Intl.DateTimeFormat, ts: number): number {
  const parts: Record<string, number> = {};
  for (const p of format.formatToParts(new Date(ts * 1000))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  const wall = new Date(Date.UTC(2000, parts.month - 1, parts.day, parts.hour, parts.minute));
  wall.setUTCFullYear(parts.year);
  return wall.getTime() / 1000 - ts;
}
