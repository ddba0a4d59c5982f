import assert from "node:assert/strict";
import { checkZone, localClock } from "../../src/zone.ts";

const at = (iso: string) => Date.parse(iso) / 1000;
/** The local wall-clock reading of `ts` under `clock`, as `YYYY-MM-DDTHH:MM`. */
const wall = (clock: (ts: number) => number, ts: number) =>
  new Date(clock(ts) * 1000).toISOString().slice(0, 16);

Deno.test("a zone's local clock follows its daylight-saving changes and half-hour offsets", () => {
  const newYork = localClock("America/New_York")!;
  // Daylight saving began on 2025-03-09 at 2:00 local (7:00 UTC) and ended on 2025-11-02.
  assert.equal(wall(newYork, at("2025-03-09T06:59:00Z")), "2025-03-09T01:59");
  assert.equal(wall(newYork, at("2025-03-09T07:00:00Z")), "2025-03-09T03:00");
  assert.equal(wall(newYork, at("2025-07-01T12:00:00Z")), "2025-07-01T08:00");
  assert.equal(wall(newYork, at("2025-11-02T05:59:00Z")), "2025-11-02T01:59");
  assert.equal(wall(newYork, at("2025-11-02T06:00:00Z")), "2025-11-02T01:00");
  // The same clock asked out of order (the offset is remembered for one quarter hour only).
  assert.equal(wall(newYork, at("2025-03-09T06:59:00Z")), "2025-03-09T01:59");
  assert.equal(wall(localClock("Asia/Kolkata")!, at("2025-01-01T00:00:00Z")), "2025-01-01T05:30");
  const adelaide = localClock("Australia/Adelaide")!;
  assert.equal(wall(adelaide, at("2025-01-01T00:00:00Z")), "2025-01-01T10:30");
  assert.equal(wall(adelaide, at("2025-07-01T00:00:00Z")), "2025-07-01T09:30");
  assert.equal(localClock("UTC"), undefined, "UTC needs no mapping");
});

Deno.test("a zone is named as the time-zone data names it, and an unknown one is refused naming what is allowed", () => {
  assert.equal(checkZone("Europe/Berlin"), "Europe/Berlin");
  assert.throws(
    () => checkZone("Mars/Olympus", "TIME_ZONE"),
    /TIME_ZONE: expected an IANA time zone such as Europe\/Berlin or America\/New_York, or UTC, got "Mars\/Olympus"/,
  );
});
